//! The AsyncAPI 3.0 description of the WebSocket protocol, generated from the same frame
//! types the sessions use, so it cannot drift from the code (a test compares it with the
//! committed `openapi/asyncapi.json`).

use room_chats_types::frames::{ClientFrame, ServerFrame};
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
    collected.push((ServerFrame::name().into_owned(), ServerFrame::schema()));
    collected.push((ClientFrame::name().into_owned(), ClientFrame::schema()));
    collected.sort_by(|a, b| a.0.cmp(&b.0));
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
            "description": "One WebSocket per room: `GET /ws/chat/{room_id}/?since=SEQ&history=N`. \
                Authenticate with `Authorization: Bearer <jwt>`, the subprotocols \
                `room-chats.v1, bearer.<jwt>` (the server selects `room-chats.v1`), or `?token=`. \
                The first server frame is `ready`, then `history` (on resume with `since`, the \
                durable `room`, `message_edited` and `message_deleted` frames of the timeline come \
                between history frames, in seq order), then live frames. Every frame is one JSON \
                text frame with a `type`. Guarantees, error and close codes: \
                docs/REALTIME.md.",
            "license": { "name": "MIT" }
        },
        "defaultContentType": "application/json",
        "channels": {
            "room": {
                "address": "/ws/chat/{room_id}/",
                "parameters": {
                    "room_id": { "description": "The room id (see GET /chat/ in the OpenAPI document)." }
                },
                "messages": {
                    "serverFrame": { "$ref": "#/components/messages/serverFrame" },
                    "clientFrame": { "$ref": "#/components/messages/clientFrame" }
                },
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "since": { "type": "integer", "minimum": 0, "description": "Resume after this seq." },
                                "history": { "type": "integer", "minimum": 0, "maximum": 200, "description": "Recent messages in the history frame (default 50)." },
                                "token": { "type": "string", "description": "The JWT, for clients that can set neither a header nor a subprotocol." }
                            }
                        }
                    }
                }
            }
        },
        "operations": {
            "sendServerFrames": {
                "action": "send",
                "summary": "Frames the service sends: ready, history, message, ack, message_edited, message_deleted, updated, read, typing, presence, room, error, pong.",
                "channel": { "$ref": "#/channels/room" },
                "messages": [{ "$ref": "#/channels/room/messages/serverFrame" }]
            },
            "receiveClientFrames": {
                "action": "receive",
                "summary": "Frames a client sends: message, read (alias mark_read), typing, edit, delete, ping, auth.",
                "channel": { "$ref": "#/channels/room" },
                "messages": [{ "$ref": "#/channels/room/messages/clientFrame" }]
            }
        },
        "components": {
            "messages": {
                "serverFrame": {
                    "name": "serverFrame",
                    "payload": { "$ref": "#/components/schemas/ServerFrame" },
                    "examples": [
                        { "name": "ack", "payload": { "type": "ack", "client_id": "3f1c", "message": {
                            "id": 17, "room_id": 3, "seq": 5, "sender_id": "u1", "sender_role": "client",
                            "content": "Where is my parcel?", "client_id": "3f1c", "created_at": "2026-11-23T10:00:00.123456Z" } } },
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
                }
            },
            "schemas": schemas()
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
            "ready", "history", "message", "ack", "read", "typing", "presence", "room", "error",
            "pong", "ping", "auth",
        ] {
            assert!(text.contains(&format!("\"{kind}\"")), "{kind} missing");
        }
        assert!(document["components"]["schemas"]["MessageDto"].is_object());
        assert!(document["components"]["schemas"]["ServerFrame"].is_object());
    }
}
