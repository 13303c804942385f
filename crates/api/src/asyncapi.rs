//! The AsyncAPI 3.0 description of the WebSocket protocol, generated from the same frame
//! types the sessions use, so it cannot drift from the code (a test compares it with the
//! committed `openapi/asyncapi.json`).

use room_chats_types::frames::{ClientFrame, ServerFrame};
use room_chats_types::stream::{StreamClientFrame, StreamFrame};
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// The AsyncAPI document as pretty JSON with a trailing newline.
pub fn asyncapi_json() -> String {
    let mut json = serde_json::to_string_pretty(&asyncapi()).unwrap_or_default();
    json.push('\n');
    json
}

fn schemas() -> Map<String, Value> {
    let mut collected: Vec<(String, RefOr<Schema>)> = Vec::new();
    ServerFrame::schemas(&mut collected);
    ClientFrame::schemas(&mut collected);
    StreamFrame::schemas(&mut collected);
    StreamClientFrame::schemas(&mut collected);
    collected.push((ServerFrame::name().into_owned(), ServerFrame::schema()));
    collected.push((ClientFrame::name().into_owned(), ClientFrame::schema()));
    collected.push((StreamFrame::name().into_owned(), StreamFrame::schema()));
    collected.push((
        StreamClientFrame::name().into_owned(),
        StreamClientFrame::schema(),
    ));
    collected.sort_by(|a, b| a.0.cmp(&b.0));
    collected.dedup_by(|a, b| a.0 == b.0);
    collected
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
        .collect()
}

fn asyncapi() -> Value {
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "room-chats realtime protocol",
            "version": "1",
            "description": "Two WebSockets. The room socket `GET /ws/chat/{room_id}/?since=SEQ&history=N` \
                carries one room: the first server frame is `ready`, then `history` (on resume with \
                `since`, the durable `room`, `message_edited` and `message_deleted` frames of the \
                timeline come between history frames, in seq order), then live frames. The user \
                stream `GET /ws/?cursor=C&status=S&assigned=A` carries the caller's inbox: the \
                first frame is `stream_ready` (a delta since `cursor`, or `reload`), then one \
                `inbox` frame per coalescing window carrying every room that changed or left the \
                inbox (at most 100 rooms a frame), each room at most once; after \
                `subscribe`, a room's frames as its room socket would send them, each with \
                `room_id`. \
                Authenticate with `Authorization: Bearer <jwt>`, the subprotocols \
                `room-chats.v1, bearer.<jwt>` (the server selects `room-chats.v1`), or `?token=`. \
                Every frame is one JSON text frame with a `type`. Guarantees, error and close \
                codes: docs/REALTIME.md.",
            "license": { "name": "MIT" }
        },
        "defaultContentType": "application/json",
        "channels": { "room": room_channel(), "stream": stream_channel() },
        "operations": operations(),
        "components": { "messages": messages(), "schemas": schemas() }
    })
}

fn token_parameter() -> Value {
    json!({ "type": "string", "description": "The JWT, for clients that can set neither a header nor a subprotocol." })
}

fn room_channel() -> Value {
    json!({
        "address": "/ws/chat/{room_id}/",
        "parameters": {
            "room_id": { "description": "The room id (see GET /chat/ in the OpenAPI document)." }
        },
        "messages": {
            "serverFrame": { "$ref": "#/components/messages/serverFrame" },
            "clientFrame": { "$ref": "#/components/messages/clientFrame" }
        },
        "bindings": { "ws": { "method": "GET", "query": {
            "type": "object",
            "properties": {
                "since": { "type": "integer", "minimum": 0, "description": "Resume after this seq." },
                "history": { "type": "integer", "minimum": 0, "maximum": 200, "description": "Recent messages in the history frame (default 50)." },
                "token": token_parameter()
            }
        } } }
    })
}

fn stream_channel() -> Value {
    json!({
        "address": "/ws/",
        "messages": {
            "streamFrame": { "$ref": "#/components/messages/streamFrame" },
            "streamClientFrame": { "$ref": "#/components/messages/streamClientFrame" }
        },
        "bindings": { "ws": { "method": "GET", "query": {
            "type": "object",
            "properties": {
                "cursor": { "type": "string", "pattern": "^[0-9]{1,19}$", "description": "The `cursor` of the last frame received: catch up with a delta." },
                "status": { "type": "string", "enum": ["open", "closed"], "description": "Only rooms with this status." },
                "assigned": { "type": "string", "enum": ["me", "none"], "description": "Admins only: rooms assigned to the caller, or to nobody." },
                "token": token_parameter()
            }
        } } }
    })
}

/// A room socket's frame as it travels on the user stream: with the room's `room_id`.
fn with_room_id(frame: &str) -> Value {
    json!({ "allOf": [
        { "$ref": frame },
        { "type": "object", "required": ["room_id"], "properties": {
            "room_id": { "type": "integer", "format": "int64", "description": "The subscribed room." }
        } }
    ] })
}

fn operations() -> Value {
    json!({
        "sendServerFrames": {
            "action": "send",
            "summary": "Frames the service sends on a room socket: ready, history, message, ack, message_edited, message_deleted, updated, read, typing, presence, room, error, pong.",
            "channel": { "$ref": "#/channels/room" },
            "messages": [{ "$ref": "#/channels/room/messages/serverFrame" }]
        },
        "receiveClientFrames": {
            "action": "receive",
            "summary": "Frames a client sends on a room socket: message, read (alias mark_read), typing, edit, delete, ping, auth.",
            "channel": { "$ref": "#/channels/room" },
            "messages": [{ "$ref": "#/channels/room/messages/clientFrame" }]
        },
        "sendStreamFrames": {
            "action": "send",
            "summary": "Frames the service sends on the user stream: stream_ready, inbox, user_presence (admins), unsubscribed, error and pong; and every frame of a subscribed room, as a room socket sends it, with the room's room_id.",
            "channel": { "$ref": "#/channels/stream" },
            "messages": [{ "$ref": "#/channels/stream/messages/streamFrame" }]
        },
        "receiveStreamClientFrames": {
            "action": "receive",
            "summary": "Frames a client sends on the user stream: subscribe, unsubscribe, ping, auth; and the room socket's message, read, typing, edit and delete, each with the room_id of a subscribed room.",
            "channel": { "$ref": "#/channels/stream" },
            "messages": [{ "$ref": "#/channels/stream/messages/streamClientFrame" }]
        }
    })
}

fn messages() -> Value {
    let room = json!({
        "id": 3, "order_id": "A-1001", "order_reference": "#1001", "customer_id": "u1",
        "status": "open", "last_seq": 5, "created_at": "2026-11-23T09:58:00Z",
        "last_activity_at": "2026-11-23T10:00:00.123456Z", "closed_at": null, "closed_by": null,
        "last_message": {
            "id": 17, "room_id": 3, "seq": 5, "sender_id": "u1", "sender_role": "client",
            "content": "Where is my parcel?", "client_id": "3f1c", "created_at": "2026-11-23T10:00:00.123456Z" },
        "unread": 2, "assigned_admins": ["staff-7"]
    });
    json!({
        "serverFrame": {
            "name": "serverFrame",
            "payload": { "$ref": "#/components/schemas/ServerFrame" },
            "examples": [
                { "name": "ack", "payload": { "type": "ack", "client_id": "3f1c", "message": room["last_message"] } },
                { "name": "error", "payload": { "type": "error", "code": "room_closed", "message": "the room is closed", "ref": "3f1c" } }
            ]
        },
        "clientFrame": {
            "name": "clientFrame",
            "payload": { "$ref": "#/components/schemas/ClientFrame" },
            "examples": [
                { "name": "message", "payload": { "type": "message", "client_id": "3f1c", "content": "Where is my parcel?" } },
                { "name": "read", "payload": { "type": "read", "up_to": 5 } }
            ]
        },
        "streamFrame": {
            "name": "streamFrame",
            "payload": { "oneOf": [
                { "$ref": "#/components/schemas/StreamFrame" },
                with_room_id("#/components/schemas/ServerFrame")
            ] },
            "examples": [
                { "name": "stream_ready", "payload": { "type": "stream_ready",
                    "me": { "user_id": "staff-7", "role": "admin" },
                    "inbox": { "mode": "delta", "cursor": "1796161444311322", "rooms": [room] },
                    "online": ["u1"] } },
                { "name": "user_presence", "payload": { "type": "user_presence", "user_id": "u1", "online": false } },
                { "name": "inbox", "payload": { "type": "inbox",
                    "rooms": [{ "change": "activity", "room": room }],
                    "removed": [{ "room_id": 4, "reason": "access_lost" }],
                    "cursor": "1796161444439897" } },
                { "name": "message of a subscribed room", "payload": { "type": "message", "room_id": 3, "message": room["last_message"] } },
                { "name": "unsubscribed", "payload": { "type": "unsubscribed", "room_id": 3, "code": 1000, "reason": "unsubscribed" } }
            ]
        },
        "streamClientFrame": {
            "name": "streamClientFrame",
            "payload": { "oneOf": [
                { "$ref": "#/components/schemas/StreamClientFrame" },
                with_room_id("#/components/schemas/ClientFrame")
            ] },
            "examples": [
                { "name": "subscribe", "payload": { "type": "subscribe", "room_id": 3, "since": 5 } },
                { "name": "message", "payload": { "type": "message", "room_id": 3, "client_id": "9a2e", "content": "It left the warehouse today." } }
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_type_is_described() {
        let document = asyncapi();
        let text = document.to_string();
        for kind in [
            "ready",
            "history",
            "message",
            "ack",
            "read",
            "typing",
            "presence",
            "room",
            "error",
            "pong",
            "ping",
            "auth",
            "stream_ready",
            "inbox",
            "access_lost",
        ] {
            assert!(text.contains(&format!("\"{kind}\"")), "{kind} missing");
        }
        assert!(document["components"]["schemas"]["MessageDto"].is_object());
        assert!(document["components"]["schemas"]["ServerFrame"].is_object());
        assert!(document["components"]["schemas"]["StreamFrame"].is_object());
        assert!(document["channels"]["stream"]["address"] == "/ws/");
    }
}
