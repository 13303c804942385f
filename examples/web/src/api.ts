// REST calls, typed from the committed OpenAPI document (src/generated/api.d.ts is made by
// `npm run build` with openapi-typescript).

import type { components } from "./generated/api";

export type Schemas = components["schemas"];
export type Message = Schemas["MessageDto"];
export type Room = Schemas["RoomDto"];
export type RoomSummary = Schemas["RoomSummaryDto"];

/** An error answer of the service: its status and the `error` object of the body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** Where the service is and who calls it. */
export interface Session {
  /** The service's base URL, e.g. `http://127.0.0.1:8000`. */
  api: string;
  /** A bearer token (`room-chats token …` mints one in development). */
  token: string;
}

export class RoomChatsApi {
  constructor(private readonly session: Session) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: {
        Authorization: `Bearer ${this.session.token}`,
        "Content-Type": "application/json",
      },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`${this.session.api}${path}`, init);
    if (!response.ok) {
      const detail = ((await response.json().catch(() => null)) as Schemas["ErrorBody"] | null)?.error;
      throw new ApiError(
        response.status,
        detail?.code ?? "unknown",
        detail?.message ?? response.statusText,
        response.headers.get("X-Request-Id"),
      );
    }
    return (await response.json()) as T;
  }

  /** The order's room, created on first use (the customer opens "chat about my order"). */
  openOrderChat(orderId: string): Promise<Room> {
    return this.call("POST", `/chat/order/${encodeURIComponent(orderId)}/chat`);
  }

  /** The caller's rooms, newest activity first, with unread counts; `filter` as the list
   * takes it (`status`, `assigned`, `waiting`). */
  listRooms(filter: Record<string, string> = {}): Promise<Schemas["RoomPage"]> {
    const query = new URLSearchParams({ ...filter, limit: "100" });
    return this.call("GET", `/chat?${query}`);
  }

  /** Messages matching the search box's text in the rooms the caller may see, newest first. */
  searchMessages(q: string): Promise<Schemas["SearchPage"]> {
    return this.call("GET", `/search/messages?q=${encodeURIComponent(q)}&limit=20`);
  }

  /** The room with its members and their read markers. */
  roomDetail(roomId: number): Promise<Schemas["RoomDetailDto"]> {
    return this.call("GET", `/chat/${roomId}`);
  }

  /** Messages before `before` (older history than the socket's first page). */
  history(roomId: number, before?: number): Promise<Schemas["MessagePage"]> {
    const query = before === undefined ? "" : `?before=${before}`;
    return this.call("GET", `/chat/${roomId}/messages${query}`);
  }

  close(roomId: number): Promise<Room> {
    return this.call("POST", `/chat/${roomId}/close`);
  }

  reopen(roomId: number): Promise<Room> {
    return this.call("POST", `/chat/${roomId}/reopen`);
  }

  /** Assigns an admin (usually the caller) to the room. */
  assign(roomId: number, userId: string): Promise<unknown> {
    return this.call("PUT", `/chat/${roomId}/admins/${encodeURIComponent(userId)}`);
  }

  /** The staff's saved replies, by title (admins only). */
  cannedReplies(): Promise<Schemas["CannedReplyDto"][]> {
    return this.call("GET", "/canned-replies");
  }

  /** The URL of a WebSocket path of the service. */
  socketUrl(path: string): string {
    return `${this.session.api.replace(/^http/, "ws")}${path}`;
  }

  /** What a browser passes to `new WebSocket(url, protocols)`: it cannot set headers. */
  socketProtocols(): string[] {
    return ["room-chats.v1", `bearer.${this.session.token}`];
  }
}

/** The session from the page's hash (`#api=…&token=…`), falling back to the page's origin. */
export function sessionFromHash(): Session & { params: URLSearchParams } {
  const params = new URLSearchParams(location.hash.slice(1));
  return {
    api: params.get("api") ?? location.origin,
    token: params.get("token") ?? "",
    params,
  };
}
