// The WebSocket frames of protocol v1 (docs/REALTIME.md) this client uses. The payloads are
// the REST schemas, so they come from the generated types.

import type { Message, Room, RoomSummary, Schemas } from "./api.js";

/** Frames of a room socket, `/ws/chat/{room_id}`. */
export type RoomFrame =
  | { type: "ready"; room: Room; me: { user_id: string; role: Schemas["Role"] }; last_seq: number; unread: number }
  | { type: "history"; messages: Message[]; has_more: boolean }
  | { type: "message"; message: Message }
  | { type: "ack"; client_id: string; message: Message }
  | { type: "read"; user_id: string; up_to: number }
  | { type: "typing"; user_id: string; typing: boolean }
  | { type: "presence"; user_id: string; online: boolean }
  | { type: "room"; seq: number; event: string; room: Room; user_id?: string }
  | { type: "message_edited" | "message_deleted"; seq: number; message: Message }
  | { type: "order_event"; seq: number; order_event: Schemas["OrderEventDto"] }
  | { type: "error"; code: Schemas["ErrorCode"]; message: string; ref?: string; retry_after?: number }
  | { type: "pong" | "updated" };

/** Frames of the user stream, `/ws/`. */
export type StreamFrame =
  | {
      type: "stream_ready";
      inbox: { mode: "delta" | "reload"; cursor: string; rooms?: RoomSummary[] };
      online: string[];
    }
  | {
      type: "inbox";
      rooms: { change: string; room: RoomSummary }[];
      removed: { room_id: number; reason: string }[];
      cursor: string;
    }
  | { type: "presence"; user_id: string; online: boolean }
  | { type: "error"; code: string; message: string };

/** Close codes after which reconnecting cannot help (docs/REALTIME.md, "Closing codes"). */
export const FINAL_CLOSE_CODES = new Set([1008, 4003, 4004, 4022]);
