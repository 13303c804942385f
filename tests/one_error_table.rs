//! Every use case × failure over both transports: REST and WebSocket give the same code for
//! the same failure (and REST the status of the one table), because both call the same use
//! case and answer its error through the same table — and a refused call changes nothing.

use diesel::connection::SimpleConnection;
use room_chats_core::Limits;
use room_chats_types::MessageDto;
use room_chats_types::rules::DEFAULT_MAX_CONTENT_CHARS;
use serde_json::{Value, json};

use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

/// What the caller asks for.
#[derive(Clone, Copy)]
enum UseCase {
    Send {
        content: &'static str,
        repeat: usize,
        client_id: &'static str,
    },
    MarkRead {
        up_to: i64,
    },
    Edit {
        target: Target,
        content: &'static str,
    },
    Delete {
        target: Target,
    },
}

/// Which message an edit or delete names.
#[derive(Clone, Copy)]
enum Target {
    /// The caller's own.
    Own,
    /// Staff's.
    Others,
    /// None of this room's.
    Missing,
}

/// What is true of the room or the node before the call.
#[derive(Clone, Copy)]
enum Given {
    Nothing,
    RoomClosed,
    /// One message a second, bursts of two: the third quick send is over budget.
    TightBudget,
    /// The database refuses (a constraint added behind the service's back) the named write.
    DatabaseRefuses(&'static str),
    /// The caller's own message was deleted.
    OwnDeleted,
    /// Messages may not be edited at all (`EDIT_WINDOW_SECS=0`).
    NoEditWindow,
}

struct Case {
    name: &'static str,
    given: Given,
    call: UseCase,
    status: u16,
    code: &'static str,
}

const fn send(content: &'static str) -> UseCase {
    UseCase::Send {
        content,
        repeat: 1,
        client_id: "c-1",
    }
}

const CASES: &[Case] = &[
    Case {
        name: "empty message",
        given: Given::Nothing,
        call: send("   "),
        status: 422,
        code: "invalid_content",
    },
    Case {
        name: "message over the length limit",
        given: Given::Nothing,
        call: UseCase::Send {
            content: "x",
            repeat: DEFAULT_MAX_CONTENT_CHARS + 1,
            client_id: "c-1",
        },
        status: 422,
        code: "invalid_content",
    },
    Case {
        name: "client_id with a control character",
        given: Given::Nothing,
        call: UseCase::Send {
            content: "hello",
            repeat: 1,
            client_id: "c\u{7}1",
        },
        status: 422,
        code: "validation_failed",
    },
    Case {
        name: "message to a closed room",
        given: Given::RoomClosed,
        call: send("hello"),
        status: 409,
        code: "room_closed",
    },
    Case {
        name: "message over the sender's budget",
        given: Given::TightBudget,
        call: send("hello"),
        status: 429,
        code: "rate_limited",
    },
    Case {
        name: "message the database refuses",
        given: Given::DatabaseRefuses(
            "ALTER TABLE messages ADD CONSTRAINT refuse CHECK (content <> 'hello')",
        ),
        call: send("hello"),
        status: 500,
        code: "internal",
    },
    Case {
        name: "edit to nothing",
        given: Given::Nothing,
        call: UseCase::Edit {
            target: Target::Own,
            content: " ",
        },
        status: 422,
        code: "invalid_content",
    },
    Case {
        name: "edit of someone else's message",
        given: Given::Nothing,
        call: UseCase::Edit {
            target: Target::Others,
            content: "my words now",
        },
        status: 403,
        code: "forbidden",
    },
    Case {
        name: "edit of a message that is not in the room",
        given: Given::Nothing,
        call: UseCase::Edit {
            target: Target::Missing,
            content: "hello",
        },
        status: 404,
        code: "not_found",
    },
    Case {
        name: "edit in a closed room",
        given: Given::RoomClosed,
        call: UseCase::Edit {
            target: Target::Own,
            content: "hello",
        },
        status: 409,
        code: "room_closed",
    },
    Case {
        name: "edit past the edit window",
        given: Given::NoEditWindow,
        call: UseCase::Edit {
            target: Target::Own,
            content: "hello",
        },
        status: 409,
        code: "conflict",
    },
    Case {
        name: "edit of a deleted message",
        given: Given::OwnDeleted,
        call: UseCase::Edit {
            target: Target::Own,
            content: "hello",
        },
        status: 409,
        code: "conflict",
    },
    Case {
        name: "delete of someone else's message",
        given: Given::Nothing,
        call: UseCase::Delete {
            target: Target::Others,
        },
        status: 403,
        code: "forbidden",
    },
    Case {
        name: "delete of a message that is not in the room",
        given: Given::Nothing,
        call: UseCase::Delete {
            target: Target::Missing,
        },
        status: 404,
        code: "not_found",
    },
    Case {
        name: "read marker below zero",
        given: Given::Nothing,
        call: UseCase::MarkRead { up_to: -1 },
        status: 422,
        code: "validation_failed",
    },
    Case {
        name: "read marker the database refuses",
        given: Given::DatabaseRefuses(
            "ALTER TABLE room_members ADD CONSTRAINT refuse CHECK (last_read_seq = 0) NOT VALID",
        ),
        call: UseCase::MarkRead { up_to: 2 },
        status: 500,
        code: "internal",
    },
];

/// A node with the room of order `A-1` (customer `u1`) holding a message from `u1` and one
/// from staff, set up as the case says.
struct Arranged {
    app: TestApp,
    room: i64,
    own_message: i64,
    others_message: i64,
}

impl Arranged {
    fn message_id(&self, target: Target) -> i64 {
        match target {
            Target::Own => self.own_message,
            Target::Others => self.others_message,
            Target::Missing => self.own_message + 1_000,
        }
    }

    /// The room's history as staff reads it.
    async fn history(&self) -> Vec<MessageDto> {
        self.app
            .history(self.room, &self.app.tokens.admin("staff"))
            .await
    }
}

async fn arrange(given: Given) -> Arranged {
    let mut options = NodeOptions::default();
    match given {
        Given::TightBudget => {
            options.limits = Limits {
                messages_per_sec: 1,
                message_burst: 2,
                ..Limits::default()
            };
        }
        Given::NoEditWindow => options.limits.edit_window_secs = 0,
        _ => {}
    }
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    let client = app.tokens.client("u1");
    // The customer's first, so its read marker stays behind staff's newer message.
    let own_message = app.send(room, &client, "helo").await.id;
    let others_message = app.send(room, &admin, "welcome").await.id;
    match given {
        Given::Nothing | Given::TightBudget | Given::NoEditWindow => {}
        Given::RoomClosed => {
            app.close(room, &admin).await;
        }
        Given::OwnDeleted => {
            let path = format!("/chat/{room}/messages/{own_message}");
            let deleted = app.call("DELETE", &path, Some(&client), None).await;
            assert_eq!(deleted.status, 200, "{deleted:?}");
        }
        Given::DatabaseRefuses(statement) => app
            .postgres()
            .batch_execute(statement)
            .expect("constraint added"),
    }
    Arranged {
        app,
        room,
        own_message,
        others_message,
    }
}

fn content_of(content: &str, repeat: usize) -> String {
    content.repeat(repeat)
}

/// The call as a REST request: method, path, body.
fn rest_request(arranged: &Arranged, call: UseCase) -> (&'static str, String, Option<Value>) {
    let room = arranged.room;
    match call {
        UseCase::Send {
            content,
            repeat,
            client_id,
        } => (
            "POST",
            format!("/chat/{room}/messages"),
            Some(json!({ "content": content_of(content, repeat), "client_id": client_id })),
        ),
        UseCase::MarkRead { up_to } => (
            "POST",
            format!("/chat/{room}/read"),
            Some(json!({ "up_to": up_to })),
        ),
        UseCase::Edit { target, content } => (
            "PATCH",
            format!("/chat/{room}/messages/{}", arranged.message_id(target)),
            Some(json!({ "content": content, "client_id": "e-1" })),
        ),
        UseCase::Delete { target } => (
            "DELETE",
            format!("/chat/{room}/messages/{}", arranged.message_id(target)),
            None,
        ),
    }
}

/// The call as a WebSocket frame, and the `ref` its error must carry.
fn websocket_frame(arranged: &Arranged, call: UseCase) -> (Value, Value) {
    match call {
        UseCase::Send {
            content,
            repeat,
            client_id,
        } => (
            json!({ "type": "message", "client_id": client_id, "content": content_of(content, repeat) }),
            Value::from(client_id),
        ),
        UseCase::MarkRead { up_to } => (json!({ "type": "read", "up_to": up_to }), Value::Null),
        UseCase::Edit { target, content } => (
            json!({ "type": "edit", "client_id": "e-1", "message_id": arranged.message_id(target), "content": content }),
            Value::from("e-1"),
        ),
        UseCase::Delete { target } => (
            json!({ "type": "delete", "client_id": "d-1", "message_id": arranged.message_id(target) }),
            Value::from("d-1"),
        ),
    }
}

/// The error code of the REST answer, after checking its status.
async fn over_rest(arranged: &Arranged, case: &Case) -> String {
    let app = &arranged.app;
    let token = app.tokens.client("u1");
    let (method, path, body) = rest_request(arranged, case.call);
    let mut answer = app.call(method, &path, Some(&token), body.clone()).await;
    if matches!(case.given, Given::TightBudget) {
        // The burst goes through first.
        for _ in 0..3 {
            if answer.status >= 400 {
                break;
            }
            answer = app.call(method, &path, Some(&token), body.clone()).await;
        }
    }
    assert_eq!(answer.status, case.status, "{}: {answer:?}", case.name);
    answer.json["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The error code of the WebSocket `error` frame answering the call (checking it names the
/// frame it answers).
async fn over_websocket(arranged: &Arranged, case: &Case) -> String {
    let app = &arranged.app;
    let mut ws = app.ws(arranged.room, &app.tokens.client("u1")).await;
    ws.handshake().await;
    let (frame, reference) = websocket_frame(arranged, case.call);
    let sends = if matches!(case.given, Given::TightBudget) {
        4
    } else {
        1
    };
    for _ in 0..sends {
        ws.send_json(frame.clone()).await;
    }
    let error = next_error(&mut ws).await;
    assert_eq!(error["ref"], reference, "{}: {error}", case.name);
    error["code"].as_str().unwrap_or_default().to_owned()
}

async fn next_error(ws: &mut WsClient) -> Value {
    loop {
        let frame = ws.next_json().await;
        if frame["type"] == "error" {
            return frame;
        }
    }
}

#[actix_web::test]
async fn rest_and_websocket_answer_every_failure_alike() {
    for case in CASES {
        // A node of its own for each transport: the budget and the stored state start equal.
        let arranged = arrange(case.given).await;
        let before = arranged.history().await;
        let rest = over_rest(&arranged, case).await;
        let after_rest = arranged.history().await;
        let arranged = arrange(case.given).await;
        let websocket = over_websocket(&arranged, case).await;
        let after_websocket = arranged.history().await;
        assert_eq!(rest, case.code, "{} over REST", case.name);
        assert_eq!(websocket, case.code, "{} over WebSocket", case.name);
        if !matches!(case.given, Given::TightBudget) {
            // Message ids and times differ between the two nodes; the words and seqs may not.
            let words = |history: &[MessageDto]| -> Vec<(i64, String)> {
                history
                    .iter()
                    .map(|message| (message.seq, message.content.clone()))
                    .collect()
            };
            assert_eq!(
                words(&after_rest),
                words(&before),
                "{}: REST changed nothing",
                case.name
            );
            assert_eq!(
                words(&after_websocket),
                words(&before),
                "{}: WebSocket changed nothing",
                case.name
            );
        }
    }
}
