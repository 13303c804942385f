// The admin dashboard: the inbox of every room with unread counts, kept live by the user
// stream (`/ws/`), and the open room's conversation with close / reopen / assign.
// Session in the hash: #api=http://127.0.0.1:8000&token=…

import { ApiError, RoomChatsApi, type RoomSummary, type Schemas, sessionFromHash } from "./api.js";
import { ChatView } from "./chat-view.js";
import { byId, h } from "./dom.js";
import { FINAL_CLOSE_CODES, type StreamFrame } from "./protocol.js";

/** The inbox's views: the list's query, and the same test for rooms the stream brings. */
const VIEWS: { name: string; query: Record<string, string>; shows: (room: RoomSummary, me: string) => boolean }[] = [
  { name: "All", query: {}, shows: () => true },
  { name: "Waiting", query: { waiting: "staff" }, shows: (room) => room.waiting?.for === "staff" },
  { name: "Mine", query: { assigned: "me" }, shows: (room, me) => room.assigned_admins.includes(me) },
  { name: "Open", query: { status: "open" }, shows: (room) => room.status === "open" },
  { name: "Closed", query: { status: "closed" }, shows: (room) => room.status === "closed" },
];

class Dashboard {
  private readonly rooms = new Map<number, RoomSummary>();
  private view = VIEWS[0]!;
  private cursor: string | null = null;
  /** The stream's frames, applied in order, each after the previous one finished. */
  private applying: Promise<void> = Promise.resolve();
  private me = "";
  private open: ChatView | null = null;
  private retryDelay = 250;
  /** Each search's number: an answer to an older one (the user typed on) is dropped. */
  private searches = 0;
  private searchTimer: number | undefined;
  /** The staff's saved replies, read once at start. */
  private canned: Schemas["CannedReplyDto"][] = [];

  constructor(private readonly api: RoomChatsApi) {}

  async start(): Promise<void> {
    this.wireSearch();
    this.wireFilters();
    await this.reload();
    this.connect();
    // Without saved replies the picker is simply empty: the inbox works either way.
    this.canned = await this.api.cannedReplies().catch(() => []);
  }

  /** The saved replies' picker: choosing one puts its text in the open room's composer. */
  private cannedPicker(): HTMLElement {
    const options = this.canned.map((reply) =>
      h("option", { value: String(reply.id) }, reply.shortcut ? `${reply.title} (/${reply.shortcut})` : reply.title),
    );
    const picker = h(
      "select",
      { "data-testid": "canned", "aria-label": "Insert a saved reply" },
      h("option", { value: "" }, "Saved replies…"),
      ...options,
    ) as HTMLSelectElement;
    picker.hidden = this.canned.length === 0;
    picker.addEventListener("change", () => {
      const reply = this.canned.find((candidate) => String(candidate.id) === picker.value);
      if (reply) this.open?.insert(reply.content);
      picker.value = "";
    });
    return picker;
  }

  /** The view buttons: each reloads the list with its filter; the stream's rooms are kept to it. */
  private wireFilters(): void {
    const buttons = VIEWS.map((view) => {
      const button = h("button", { "data-testid": `view-${view.name.toLowerCase()}`, "aria-pressed": String(view === this.view) }, view.name);
      button.addEventListener("click", () => {
        this.view = view;
        for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
        void this.reload();
      });
      return button;
    });
    byId("filters").replaceChildren(...buttons);
  }

  /** The search box: searches 200 ms after the last keystroke. */
  private wireSearch(): void {
    const box = byId("search") as HTMLInputElement;
    box.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => void this.search(box.value), 200);
    });
  }

  private async search(text: string): Promise<void> {
    const results = byId("results");
    const asked = ++this.searches;
    if (text.trim() === "") {
      results.replaceChildren();
      return;
    }
    let items: (Node | string)[];
    try {
      const page = await this.api.searchMessages(text);
      items = page.items.length > 0 ? page.items.map((hit) => this.hit(hit)) : [h("li", { class: "status" }, "No messages found.")];
    } catch (error) {
      // 422: the text has no word to find yet (only symbols, or only `-excluded` words).
      const why = error instanceof ApiError && error.status === 422 ? "Type a word to find." : String(error);
      items = [h("li", { class: "status" }, why)];
    }
    if (asked === this.searches) results.replaceChildren(...items);
  }

  /** One result: the order, and the message with the matched words marked. */
  private hit(hit: Schemas["SearchHitDto"]): HTMLElement {
    const content = hit.message.content;
    const marked: (Node | string)[] = [];
    let at = 0;
    // Ranges count UTF-16 units, as JavaScript strings do: `slice` takes them as they are.
    for (const range of hit.content_matches) {
      marked.push(content.slice(at, range.start), h("mark", {}, content.slice(range.start, range.end)));
      at = range.end;
    }
    marked.push(content.slice(at));
    const files = hit.message.attachments?.map((file) => file.filename).join(", ");
    const item = h(
      "li",
      { class: "hit", "data-testid": "hit", "data-room": String(hit.message.room_id) },
      h("span", { class: "reference" }, `Order ${hit.order_reference ?? hit.order_id}`),
      h("span", { class: "snippet" }, ...marked, files ? ` 📎 ${files}` : ""),
    );
    item.addEventListener("click", () => this.select(hit.message.room_id));
    return item;
  }

  private async reload(): Promise<void> {
    const page = await this.api.listRooms(this.view.query);
    this.rooms.clear();
    for (const room of page.items) this.rooms.set(room.id, room);
    this.render();
  }

  /** The user stream; resumes from the last cursor, so a reconnect gets what changed. */
  private connect(): void {
    const query = this.cursor ? `?cursor=${this.cursor}` : "";
    const socket = new WebSocket(this.api.socketUrl(`/ws/${query}`), this.api.socketProtocols());
    // One frame at a time: a `reload` (awaited REST call) must not clear the list after an
    // inbox frame that came meanwhile was applied, or that room is lost until it changes again.
    socket.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as StreamFrame;
      this.applying = this.applying.then(() => this.apply(frame)).catch((error: unknown) => console.error(error));
    };
    socket.onclose = (event) => {
      byId("stream").textContent = "Inbox offline, reconnecting…";
      if (FINAL_CLOSE_CODES.has(event.code)) return;
      setTimeout(() => this.connect(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 10_000);
    };
  }

  private async apply(frame: StreamFrame): Promise<void> {
    if (frame.type === "stream_ready") {
      this.retryDelay = 250;
      byId("stream").textContent = "Live";
      this.cursor = frame.inbox.cursor;
      if (frame.inbox.mode === "reload") await this.reload();
      for (const room of frame.inbox.rooms ?? []) if (this.view.shows(room, this.me)) this.rooms.set(room.id, room);
    } else if (frame.type === "inbox") {
      this.cursor = frame.cursor;
      for (const { room } of frame.rooms) {
        // A room that leaves the view (answered, closed, taken) leaves the list.
        if (this.view.shows(room, this.me)) this.rooms.set(room.id, room);
        else this.rooms.delete(room.id);
      }
      for (const { room_id } of frame.removed) this.rooms.delete(room_id);
    }
    this.render();
  }

  private render(): void {
    const rooms = [...this.rooms.values()].sort((a, b) => b.last_activity_at.localeCompare(a.last_activity_at));
    const items = rooms.map((room) => {
      const reference = room.order_reference ?? room.order_id;
      const item = h(
        "li",
        { class: room.id === this.open?.roomId ? "room selected" : "room", "data-order": room.order_id },
        h("span", { class: "reference" }, `Order ${reference}`),
        h("span", { class: "customer" }, room.customer_id),
        h("span", { class: "preview" }, room.last_message?.content ?? ""),
        h("span", { class: `state ${room.status}` }, room.status),
        h("span", { class: "assignee", "data-testid": "assignee" }, handledBy(room.assigned_admins, this.me)),
        h("time", { datetime: room.last_activity_at, title: room.last_activity_at }, shortTime(room.last_activity_at)),
      );
      if (room.waiting?.for === "staff") {
        const since = room.waiting.since;
        const due = room.sla?.due_at;
        const waiting = `Waiting for you since ${shortTime(since)}${due ? ` · answer due ${shortTime(due)}` : ""}`;
        item.append(h("span", { class: "waiting", "data-testid": "waiting", title: since }, waiting));
      }
      // The response-time target was missed (SLA_*_RESPONSE_SECS): the clock runs until staff answer.
      const breachedAt = room.sla?.breached_at;
      if (breachedAt) {
        item.append(h("span", { class: "breached", "data-testid": "breached", title: breachedAt }, "Response overdue"));
      }
      if (room.unread > 0) item.append(h("span", { class: "badge", "data-testid": "unread" }, String(room.unread)));
      item.addEventListener("click", () => this.select(room.id));
      return item;
    });
    byId("rooms").replaceChildren(...items);
  }

  private select(roomId: number): void {
    this.open?.close();
    const pane = byId("room");
    const conversation = h("section", { class: "conversation" });
    const close = h("button", { "data-testid": "close" }, "Close");
    const reopen = h("button", { "data-testid": "reopen" }, "Reopen");
    const assign = h("button", { "data-testid": "assign" }, "Assign to me");
    close.addEventListener("click", () => void this.api.close(roomId));
    reopen.addEventListener("click", () => void this.api.reopen(roomId));
    const assigned = () => {
      const mine = this.rooms.get(roomId)?.assigned_admins.includes(this.me) ?? false;
      assign.textContent = mine ? "Assigned to you" : "Assign to me";
      assign.toggleAttribute("disabled", mine);
    };
    assigned();
    assign.addEventListener("click", () => {
      assign.textContent = "Assigning…";
      this.api.assign(roomId, this.me).then(
        () => {
          // The inbox hears of it too; the answer already tells this page.
          const room = this.rooms.get(roomId);
          if (room && !room.assigned_admins.includes(this.me)) room.assigned_admins.push(this.me);
          assigned();
          this.render();
        },
        (error: unknown) => {
          assign.textContent = `Not assigned: ${error instanceof ApiError ? error.message : String(error)}`;
        },
      );
    });
    pane.replaceChildren(h("div", { class: "actions" }, close, reopen, assign, this.cannedPicker()), conversation);
    this.open = new ChatView(
      conversation,
      this.api,
      roomId,
      (room) => {
        close.hidden = room.status === "closed";
        reopen.hidden = room.status !== "closed";
      },
      true,
    );
    this.render();
  }

  set user(userId: string) {
    this.me = userId;
  }
}

/** Who handles a room, as the inbox line says it. */
function handledBy(admins: string[], me: string): string {
  if (admins.length === 0) return "Unassigned";
  return admins.map((admin) => (admin === me ? "you" : admin)).join(", ");
}

/** A time as a support inbox shows it: the hour today, the date before. */
function shortTime(iso: string): string {
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleDateString([], { day: "numeric", month: "short" });
}

const session = sessionFromHash();
if (!session.token) {
  byId("stream").textContent = "Open this page with #token=<admin token> (see examples/web/README.md).";
} else {
  const dashboard = new Dashboard(new RoomChatsApi(session));
  // The admin's user id is the token's `sub`, for "assign to me".
  const payload = session.token.split(".")[1] ?? "";
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: string };
    dashboard.user = claims.sub ?? "";
  } catch {
    dashboard.user = "";
  }
  void dashboard.start();
}
