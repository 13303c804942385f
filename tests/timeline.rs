//! The room's timeline: messages, room events (closed, reopened, an admin assigned or
//! unassigned) and message edits and deletes share one gapless sequence, and a client that
//! was away — disconnected, or on a node whose Redis subscription dropped — replays them and
//! ends with exactly the state of a client that stayed connected.

use std::collections::{BTreeMap, BTreeSet};

use room_chats_types::frames::{RoomChange, ServerFrame};
use room_chats_types::{MessageDto, RoomStatus};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::redis::{PrivateRedis, settings};
use crate::support::ws::WsClient;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    a_client_that_was_away_ends_with_the_state_of_one_that_stayed,
    the_room_list_previews_the_newest_message_after_a_room_event,
);

/// What a client knows of a room, built only from the frames it received. Each frame is
/// read as the wire type (`ServerFrame`): a frame or room event the test does not know fails
/// it, rather than being passed over.
#[derive(Debug, Default, PartialEq, Eq)]
struct RoomState {
    /// Message seq → its content as last heard.
    messages: BTreeMap<i64, String>,
    status: Option<RoomStatus>,
    admins: BTreeSet<String>,
    /// Every room event heard, with the member it names.
    changes: Vec<(RoomChange, Option<String>)>,
    /// Every timeline seq heard, in arrival order.
    seqs: Vec<i64>,
}

fn server_frame(frame: &Value) -> ServerFrame {
    serde_json::from_value(frame.clone())
        .unwrap_or_else(|error| panic!("not a server frame ({error}): {frame}"))
}

impl RoomState {
    fn from_ready(ready: &Value) -> Self {
        let ServerFrame::Ready { room, .. } = server_frame(ready) else {
            panic!("the first frame is `ready`: {ready}");
        };
        Self {
            status: Some(room.status),
            ..Self::default()
        }
    }

    fn hold(&mut self, message: MessageDto) {
        self.messages.insert(message.seq, message.content);
    }

    /// Applies one frame; whether it was a timeline frame.
    fn apply(&mut self, frame: &Value) -> bool {
        match server_frame(frame) {
            ServerFrame::Message { message } | ServerFrame::Ack { message, .. } => {
                self.seqs.push(message.seq);
                self.hold(message);
            }
            ServerFrame::History { messages, .. } => {
                for message in messages {
                    self.seqs.push(message.seq);
                    self.hold(message);
                }
                return false;
            }
            ServerFrame::MessageEdited { seq, message }
            | ServerFrame::MessageDeleted { seq, message } => {
                self.seqs.push(seq);
                self.hold(message);
            }
            ServerFrame::Room {
                seq,
                event,
                room,
                user_id,
            } => {
                self.status = Some(room.status);
                let admin = || user_id.clone().expect("a member event names its member");
                match event {
                    RoomChange::MemberAdded => {
                        self.admins.insert(admin());
                    }
                    RoomChange::MemberRemoved => {
                        self.admins.remove(&admin());
                    }
                    RoomChange::Closed
                    | RoomChange::Reopened
                    | RoomChange::OrderChanged
                    | RoomChange::Rated
                    | RoomChange::SlaBreached => {}
                }
                self.changes.push((event, user_id));
                self.seqs.push(seq);
            }
            ServerFrame::Presence { .. }
            | ServerFrame::Typing { .. }
            | ServerFrame::Read { .. } => {
                return false;
            }
            other => panic!("unexpected frame {other:?}"),
        }
        true
    }
}

/// A live connection's state after `count` more timeline frames.
async fn live(ws: &mut WsClient, mut state: RoomState, count: usize) -> RoomState {
    let mut heard = 0;
    while heard < count {
        if state.apply(&ws.next_json().await) {
            heard += 1;
        }
    }
    state
}

/// The state of a connection opened with `since`, once it caught up.
async fn resumed(app: &TestApp, room: i64, since: i64, token: &str) -> (Value, RoomState) {
    let frames = app.resume(room, since, token).await.until_caught_up().await;
    let ready = frames.first().cloned().unwrap_or_default();
    let mut state = RoomState::from_ready(&ready);
    for frame in &frames[1..] {
        state.apply(frame);
    }
    (ready, state)
}

/// Eight timeline entries: messages, an admin assigned and unassigned, the room closed and
/// reopened, a message edited and one deleted — and two calls that change nothing.
async fn change_everything(app: &TestApp, room: i64) {
    let admin = app.tokens.admin("staff");
    let call = async |method: &str, path: String, body: Option<Value>| {
        let answer = app.call(method, &path, Some(&admin), body).await;
        assert!(answer.status < 300, "{method} {path}: {answer:?}");
    };
    let first = app.send(room, &admin, "first").await.id;
    call("PUT", format!("/chat/{room}/admins/agent-7"), None).await;
    call("POST", format!("/chat/{room}/close"), None).await;
    call("POST", format!("/chat/{room}/reopen"), None).await;
    let edit = json!({ "content": "first, edited" });
    call(
        "PATCH",
        format!("/chat/{room}/messages/{first}"),
        Some(edit),
    )
    .await;
    call("DELETE", format!("/chat/{room}/admins/agent-7"), None).await;
    // Changing nothing takes no place in the timeline.
    call("DELETE", format!("/chat/{room}/admins/agent-7"), None).await;
    call("POST", format!("/chat/{room}/reopen"), None).await;
    let second = app.send(room, &admin, "second").await.id;
    call("DELETE", format!("/chat/{room}/messages/{second}"), None).await;
}

const ENTRIES: usize = 8;

fn expected_messages() -> BTreeMap<i64, String> {
    BTreeMap::from([(1, "first, edited".to_owned()), (7, String::new())])
}

async fn a_client_that_was_away_ends_with_the_state_of_one_that_stayed(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let client = app.tokens.client("u1");
    let mut stayed = app.ws(room, &app.tokens.admin("watcher")).await;
    let (ready, _) = stayed.handshake().await;
    let mut away = app.ws(room, &client).await;
    away.handshake().await;
    away.close().await;

    change_everything(&app, room).await;
    let connected = live(&mut stayed, RoomState::from_ready(&ready), ENTRIES).await;
    assert_eq!(
        connected.seqs,
        (1..=8).collect::<Vec<i64>>(),
        "one gapless timeline"
    );
    assert_eq!(connected.messages, expected_messages());
    let agent = || Some("agent-7".to_owned());
    assert_eq!(
        connected.changes,
        [
            (RoomChange::MemberAdded, agent()),
            (RoomChange::Closed, None),
            (RoomChange::Reopened, None),
            (RoomChange::MemberRemoved, agent()),
        ],
        "every room event, in order"
    );
    assert_eq!(connected.status, Some(RoomStatus::Open));
    assert!(connected.admins.is_empty(), "agent-7 came and went");

    let (ready, replayed) = resumed(&app, room, 0, &client).await;
    // The replay holds each message once, in its current state, and every other entry.
    assert_eq!(replayed.messages, connected.messages);
    assert_eq!(
        (&replayed.status, &replayed.admins, &replayed.changes),
        (&connected.status, &connected.admins, &connected.changes)
    );
    assert!(
        replayed.seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "{:?}",
        replayed.seqs
    );
    assert_eq!(ready["last_seq"], 8);
    assert_eq!(
        ready["unread"], 2,
        "unread counts the two messages of others, not the other entries"
    );
    // Resuming from the middle replays only what follows.
    let (_, later) = resumed(&app, room, 3, &client).await;
    assert_eq!(later.seqs, vec![4, 5, 6, 7, 8]);
}

/// A node whose Redis subscription drops misses the other node's live events; when it comes
/// back, its sessions catch up from the database — every kind of entry, in seq order.
#[actix_web::test]
async fn a_node_that_lost_redis_catches_up_on_every_kind_of_entry() {
    let redis = PrivateRedis::start();
    let shared = settings(&redis.url());
    let node = || NodeOptions {
        redis: Some(shared.clone()),
        ..NodeOptions::default()
    };
    let a = TestApp::start_node(Backend::Postgres, node()).await;
    let b = a.start_peer(node()).await;
    let room = a.room("A-1", "u1").await;
    let mut on_a = a.ws(room, &a.tokens.admin("watcher")).await;
    let (ready_a, _) = on_a.handshake().await;
    let mut on_b = b.ws(room, &b.tokens.client("u1")).await;
    let (ready_b, _) = on_b.handshake().await;

    redis.down();
    // Node a's own session hears everything at once; node b hears nothing until Redis is back.
    change_everything(&a, room).await;
    let connected = live(&mut on_a, RoomState::from_ready(&ready_a), ENTRIES).await;
    redis.up();
    let caught_up = live(&mut on_b, RoomState::from_ready(&ready_b), ENTRIES).await;
    assert_eq!(
        caught_up.seqs,
        (1..=8).collect::<Vec<i64>>(),
        "in order, once each"
    );
    assert_eq!(caught_up.messages, expected_messages());
    assert_eq!(
        caught_up, connected,
        "node b's client ends where node a's did"
    );
    // With Redis back, node a's next room event reaches node b live, in its place.
    let close = format!("/chat/{room}/close");
    let closed = a
        .call("POST", &close, Some(&a.tokens.admin("staff")), None)
        .await;
    assert_eq!(closed.status, 200, "{closed:?}");
    let live_on_b = live(&mut on_b, caught_up, 1).await;
    assert_eq!(live_on_b.seqs.last(), Some(&9));
    assert_eq!(live_on_b.status, Some(RoomStatus::Closed));
}

/// The room list's preview is the newest message, also when the newest timeline entry is a
/// room event.
async fn the_room_list_previews_the_newest_message_after_a_room_event(app: TestApp) {
    let room = app.room("A-1", "u1").await;
    let admin = app.tokens.admin("staff");
    app.send(room, &admin, "parcel left the warehouse").await;
    app.close(room, &admin).await;
    let listed = app.call("GET", "/chat/", Some(&admin), None).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let item = &listed.json["items"][0];
    assert_eq!(item["last_seq"], 2, "{item}");
    assert_eq!(
        item["last_message"]["content"], "parcel left the warehouse",
        "{item}"
    );
}
