// A room socket that survives reconnects: it resumes with `since` (the last seq it holds), so
// nothing is missed or repeated, and sends again every message not acked yet, with the same
// `client_id` (the server stores it once).

import type { RoomChatsApi } from "./api.js";
import { FINAL_CLOSE_CODES, type RoomFrame } from "./protocol.js";

export type SocketState = "connecting" | "open" | "offline" | "refused";

/** A message on its way: its words, and whether it is an internal note. */
export interface Outgoing {
  content: string;
  note: boolean;
}

export interface RoomSocketEvents {
  frame(frame: RoomFrame): void;
  state(state: SocketState, detail?: string): void;
}

export class RoomSocket {
  private socket: WebSocket | null = null;
  private lastSeq = 0;
  private retryDelay = 250;
  private stopped = false;
  /** Sent messages without an `ack`, by `client_id`, in sending order. */
  private readonly unacked = new Map<string, Outgoing>();

  constructor(
    private readonly api: RoomChatsApi,
    private readonly roomId: number,
    private readonly events: RoomSocketEvents,
  ) {}

  connect(): void {
    this.stopped = false;
    const since = this.lastSeq > 0 ? `?since=${this.lastSeq}` : "";
    const socket = new WebSocket(this.api.socketUrl(`/ws/chat/${this.roomId}${since}`), this.api.socketProtocols());
    this.socket = socket;
    this.events.state("connecting");
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)) as RoomFrame);
    socket.onclose = (event) => this.closed(event.code, event.reason);
  }

  /** Sends a message (staff: an internal note with `note`); it is sent again after a
   * reconnect until acked. Returns its client id. */
  send(content: string, note = false): string {
    const clientId = crypto.randomUUID();
    this.unacked.set(clientId, { content, note });
    this.write({ type: "message", client_id: clientId, content, note });
    return clientId;
  }

  typing(typing: boolean): void {
    this.write({ type: "typing", typing });
  }

  markRead(upTo: number): void {
    this.write({ type: "read", up_to: upTo });
  }

  /** Messages sent and not acked yet, oldest first (shown as "sending…"). */
  pending(): [string, Outgoing][] {
    return [...this.unacked.entries()];
  }

  close(): void {
    this.stopped = true;
    this.socket?.close(1000);
  }

  private write(frame: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private receive(frame: RoomFrame): void {
    switch (frame.type) {
      case "ready":
        this.retryDelay = 250;
        this.events.state("open");
        break;
      case "history":
        for (const message of frame.messages) this.seen(message.seq);
        // Caught up: whatever was sent before the drop and not acked goes again.
        if (!frame.has_more) {
          for (const [clientId, { content, note }] of this.unacked) {
            this.write({ type: "message", client_id: clientId, content, note });
          }
        }
        break;
      case "message":
        this.seen(frame.message.seq);
        break;
      case "ack":
        this.unacked.delete(frame.client_id);
        this.seen(frame.message.seq);
        break;
      case "room":
      case "order_event":
      case "message_edited":
      case "message_deleted":
        this.seen(frame.seq);
        break;
      default:
        break;
    }
    this.events.frame(frame);
  }

  private seen(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  private closed(code: number, reason: string): void {
    this.socket = null;
    if (this.stopped) return;
    if (FINAL_CLOSE_CODES.has(code)) {
      this.events.state("refused", reason || String(code));
      return;
    }
    // 4001: the token expired; a real app fetches a fresh one here before reconnecting.
    this.events.state("offline", reason || String(code));
    setTimeout(() => this.connect(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 10_000);
  }
}
