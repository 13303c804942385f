//! Every use case × failure over both transports: REST and WebSocket give the same code for
//! the same failure (and REST the status of the one table), because both call the same use
//! case and answer its error through the same table.

use diesel::connection::SimpleConnection;
use room_chats_api::Limits;
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
        call: UseCase::MarkRead { up_to: 1 },
        status: 500,
        code: "internal",
    },
];

/// A node with the room of order `A-1` (customer `u1`) holding one message from staff, set
/// up as the case says.
async fn arrange(given: Given) -> (TestApp, i64) {
    let mut options = NodeOptions::default();
    if matches!(given, Given::TightBudget) {
        options.limits = Limits {
            messages_per_sec: 1,
            message_burst: 2,
            ..Limits::default()
        };
    }
    let app = TestApp::start_node(Backend::Postgres, options).await;
    let room = app.room("A-1", "u1").await;
    app.send(room, &app.tokens.admin("staff"), "welcome").await;
    match given {
        Given::Nothing | Given::TightBudget => {}
        Given::RoomClosed => {
            let closed = app
                .call(
                    "POST",
                    &format!("/chat/{room}/close"),
                    Some(&app.tokens.admin("staff")),
                    None,
                )
                .await;
            assert_eq!(closed.status, 200, "{closed:?}");
        }
        Given::DatabaseRefuses(statement) => app
            .postgres()
            .batch_execute(statement)
            .expect("constraint added"),
    }
    (app, room)
}

fn content_of(content: &str, repeat: usize) -> String {
    content.repeat(repeat)
}

/// The error code of the REST answer, after checking its status.
async fn over_rest(app: &TestApp, room: i64, case: &Case) -> String {
    let token = app.tokens.client("u1");
    let (path, body) = match case.call {
        UseCase::Send {
            content,
            repeat,
            client_id,
        } => (
            format!("/chat/{room}/messages"),
            json!({ "content": content_of(content, repeat), "client_id": client_id }),
        ),
        UseCase::MarkRead { up_to } => (format!("/chat/{room}/read"), json!({ "up_to": up_to })),
    };
    let mut answer = app
        .call("POST", &path, Some(&token), Some(body.clone()))
        .await;
    if matches!(case.given, Given::TightBudget) {
        // The burst goes through first.
        for _ in 0..3 {
            if answer.status >= 400 {
                break;
            }
            answer = app
                .call("POST", &path, Some(&token), Some(body.clone()))
                .await;
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
async fn over_websocket(app: &TestApp, room: i64, case: &Case) -> String {
    let mut ws = app.ws(room, &app.tokens.client("u1")).await;
    ws.handshake().await;
    let (frame, reference) = match case.call {
        UseCase::Send {
            content,
            repeat,
            client_id,
        } => (
            json!({ "type": "message", "client_id": client_id, "content": content_of(content, repeat) }),
            Value::from(client_id),
        ),
        UseCase::MarkRead { up_to } => (json!({ "type": "read", "up_to": up_to }), Value::Null),
    };
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
        let (app, room) = arrange(case.given).await;
        let rest = over_rest(&app, room, case).await;
        let (app, room) = arrange(case.given).await;
        let websocket = over_websocket(&app, room, case).await;
        assert_eq!(rest, case.code, "{} over REST", case.name);
        assert_eq!(websocket, case.code, "{} over WebSocket", case.name);
    }
}
