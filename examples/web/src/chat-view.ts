// One conversation: its messages in seq order, a composer, the other side's typing and read
// receipts, the room's status. Customer and admin pages both mount it.

import type { Message, Room, RoomChatsApi, Schemas } from "./api.js";
import { h } from "./dom.js";
import type { RoomFrame } from "./protocol.js";
import { RoomSocket, type SocketState } from "./socket.js";

/** How often `typing: true` is repeated while the user types (the server expires it in 5 s). */
const TYPING_REPEAT_MS = 2_000;

export class ChatView {
  private readonly socket: RoomSocket;
  private readonly messages = new Map<number, Message>();
  /** What the platform reported about the order (shipped, delivered …), by seq. */
  private readonly orderEvents = new Map<number, Schemas["OrderEventDto"]>();
  private readonly typingUsers = new Set<string>();
  private me = "";
  private room: Room | null = null;
  /** The highest seq another member has read (for "Seen" under my messages). */
  private theirReadUpTo = 0;
  /** Every member's read marker as the room detail gave it when the view opened. */
  private readonly loadedMarkers = new Map<string, number>();
  private myReadUpTo = 0;
  private lastTypingSent = 0;

  private readonly title = h("h2", { "data-testid": "room-title" });
  private readonly status = h("p", { class: "status", "data-testid": "room-status" });
  private readonly list = h("ol", { class: "messages", "data-testid": "messages" });
  private readonly typingLine = h("p", { class: "typing", "data-testid": "typing" });
  private readonly input = h("input", { name: "content", autocomplete: "off", placeholder: "Write a message", "data-testid": "composer" });
  /** Staff only: the next message is an internal note, which the customer never sees. */
  private readonly noteToggle = h("input", { type: "checkbox", "data-testid": "note-toggle" });
  private readonly form = h(
    "form",
    { class: "composer" },
    this.input,
    h("label", { class: "note-toggle" }, this.noteToggle, "Internal note"),
    h("button", { type: "submit" }, "Send"),
  );

  constructor(
    private readonly root: HTMLElement,
    api: RoomChatsApi,
    readonly roomId: number,
    private readonly onRoom: (room: Room) => void = () => {},
    /** Staff write internal notes too (the admin page). */
    private readonly writesNotes = false,
  ) {
    root.replaceChildren(this.title, this.status, this.list, this.typingLine, this.form);
    (this.noteToggle.parentElement as HTMLElement).hidden = !writesNotes;
    this.noteToggle.addEventListener("change", () => {
      this.form.classList.toggle("writing-note", this.noteToggle.checked);
      this.input.placeholder = this.noteToggle.checked ? "Write a note for staff (the customer never sees it)" : "Write a message";
    });
    this.socket = new RoomSocket(api, roomId, {
      frame: (frame) => this.apply(frame),
      state: (state, detail) => this.connection(state, detail),
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const content = this.input.value.trim();
      if (!content) return;
      this.socket.send(content, this.noteToggle.checked);
      this.socket.typing(false);
      this.lastTypingSent = 0;
      this.input.value = "";
      this.render();
    });
    this.input.addEventListener("input", () => {
      // A note is for staff: the customer is not told someone types it.
      if (this.noteToggle.checked) return;
      const now = Date.now();
      if (now - this.lastTypingSent > TYPING_REPEAT_MS) {
        this.socket.typing(true);
        this.lastTypingSent = now;
      }
    });
    document.addEventListener("visibilitychange", () => this.markRead());
    this.socket.connect();
    void this.loadReadMarkers(api);
  }

  close(): void {
    this.socket.close();
  }

  /** Puts `text` in the composer (a saved reply), ready to edit and send. */
  insert(text: string): void {
    this.input.value = text;
    this.input.focus();
  }

  private apply(frame: RoomFrame): void {
    switch (frame.type) {
      case "ready":
        this.me = frame.me.user_id;
        this.setRoom(frame.room);
        break;
      case "history":
        for (const message of frame.messages) this.messages.set(message.id, message);
        break;
      case "message":
      case "ack":
      case "message_edited":
      case "message_deleted":
        this.messages.set(frame.message.id, frame.message);
        if (frame.type === "message") this.typingUsers.delete(frame.message.sender_id);
        break;
      case "read":
        if (frame.user_id !== this.me) this.theirReadUpTo = Math.max(this.theirReadUpTo, frame.up_to);
        else this.myReadUpTo = Math.max(this.myReadUpTo, frame.up_to);
        break;
      case "typing":
        if (frame.user_id === this.me) break;
        if (frame.typing) this.typingUsers.add(frame.user_id);
        else this.typingUsers.delete(frame.user_id);
        break;
      case "room":
        // A breach noticed after the answer carries the missed clock, not the room's current one.
        if (frame.event === "sla_breached" && frame.room.waiting?.for !== "staff") break;
        this.setRoom(frame.room);
        break;
      case "order_event":
        this.orderEvents.set(frame.seq, frame.order_event);
        break;
      case "error":
        this.status.textContent = `${frame.code}: ${frame.message}`;
        return;
      default:
        return;
    }
    this.render();
    this.markRead();
  }

  /** "Seen" on load: how far each member had read before this page opened (the socket tells
   * only of markers that move from now on). */
  private async loadReadMarkers(api: RoomChatsApi): Promise<void> {
    try {
      const detail = await api.roomDetail(this.roomId);
      for (const member of detail.members) this.loadedMarkers.set(member.user_id, member.last_read_seq);
      this.render();
    } catch {
      // Without them "Seen" waits for the next read frame; the chat works the same.
    }
  }

  /** The highest seq another member has read, loaded or live. */
  private othersReadUpTo(): number {
    const loaded = [...this.loadedMarkers].filter(([user]) => user !== this.me).map(([, seq]) => seq);
    return Math.max(this.theirReadUpTo, ...loaded);
  }

  private setRoom(room: Room): void {
    this.room = room;
    this.onRoom(room);
  }

  private connection(state: SocketState, detail?: string): void {
    this.root.dataset["connection"] = state;
    if (state === "open") return this.render();
    this.status.textContent =
      state === "refused" ? `Cannot open this chat (${detail ?? ""})` : state === "offline" ? "Reconnecting…" : "Connecting…";
  }

  /** Moves my read marker to the newest message of others, while the page is visible. */
  private markRead(): void {
    if (document.visibilityState !== "visible") return;
    let newest = 0;
    for (const message of this.messages.values()) {
      if (message.sender_id !== this.me) newest = Math.max(newest, message.seq);
    }
    if (newest > this.myReadUpTo) {
      this.myReadUpTo = newest;
      this.socket.markRead(newest);
    }
  }

  private render(): void {
    const room = this.room;
    if (room) {
      this.title.textContent = `Order ${room.order_reference ?? room.order_id}`;
      // A room a policy closed opens again with the customer's next message: its composer
      // stays on (staff's own messages to it are refused, as to any closed room).
      const reopensOnWrite = room.status === "closed" && room.closed_by_policy != null && !this.writesNotes;
      this.status.textContent =
        room.status === "open"
          ? "Open"
          : reopensOnWrite
            ? "This conversation was closed automatically. Write to open it again."
            : "This conversation is closed.";
      this.root.dataset["status"] = room.status;
      this.input.disabled = room.status === "closed" && !reopensOnWrite;
      if (room.rating) this.status.textContent += ` Rated ${room.rating.score}/5.`;
    }
    const ordered = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    const lastMine = ordered.filter((message) => message.sender_id === this.me && !message.note).at(-1);
    const messageItems = ordered.map((message) => {
      const mine = message.sender_id === this.me;
      const sender = mine ? "You" : message.sender_id;
      const item = h(
        "li",
        { class: `${mine ? "mine" : "theirs"}${message.note ? " note" : ""}`, "data-seq": String(message.seq) },
        h("span", { class: "sender" }, message.note ? `Internal note · ${sender}` : sender),
        h("span", { class: "content" }, message.deleted_at ? "(deleted)" : message.content),
      );
      if (message.note) item.dataset["testid"] = "note";
      if (message === lastMine && message.seq <= this.othersReadUpTo()) {
        item.append(h("span", { class: "receipt", "data-testid": "seen" }, "Seen"));
      }
      return item;
    });
    // The order's events sit among the messages, in seq order.
    const entries: [number, HTMLElement][] = [
      ...ordered.map((message, index): [number, HTMLElement] => [message.seq, messageItems[index] as HTMLElement]),
      ...[...this.orderEvents.entries()].map(([seq, event]): [number, HTMLElement] => [seq, orderEventItem(seq, event)]),
    ];
    const items = entries.sort(([a], [b]) => a - b).map(([, item]) => item);
    for (const [, { content, note }] of this.socket.pending()) {
      items.push(
        h(
          "li",
          { class: `mine pending${note ? " note" : ""}` },
          h("span", { class: "sender" }, note ? "Internal note · You" : "You"),
          h("span", { class: "content" }, content),
          h("span", { class: "receipt" }, "sending…"),
        ),
      );
    }
    this.list.replaceChildren(...items);
    this.typingLine.textContent = this.typingUsers.size > 0 ? `${[...this.typingUsers].join(", ")} is typing…` : "";
  }
}

/** The order's status change as a line of the conversation, for both sides. */
function orderEventItem(seq: number, event: Schemas["OrderEventDto"]): HTMLElement {
  const item = h(
    "li",
    { class: "system", "data-seq": String(seq), "data-testid": "order-event" },
    h("span", { class: "content" }, `Order ${event.status}${event.text ? ` — ${event.text}` : ""}`),
  );
  if (event.tracking_url) {
    item.append(h("a", { href: event.tracking_url, target: "_blank", rel: "noopener noreferrer" }, "Track the parcel"));
  }
  return item;
}
