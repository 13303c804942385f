// A frontend team's first client, typed from the committed OpenAPI document. CI generates
// generated/api.d.ts with openapi-typescript and compiles this file with `tsc --strict`: a
// document that openapi-typescript cannot read, or a change that breaks these calls, fails.

import type { components, paths } from "./generated/api";

type Schemas = components["schemas"];
type ErrorBody = Schemas["ErrorBody"];

export class RoomChatsClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        "Content-Type": "application/json",
      },
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    if (!response.ok) {
      const error = (await response.json()) as ErrorBody;
      throw new Error(`${response.status} ${error.error.code}: ${error.error.message}`);
    }
    return (await response.json()) as T;
  }

  /** The rooms the caller may see, newest activity first. */
  listRooms(
    query: paths["/chat"]["get"]["parameters"]["query"] = {},
  ): Promise<Schemas["RoomPage"]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    return this.call("GET", `/chat?${params.toString()}`);
  }

  /** The order's room, created on first use. */
  createOrGetRoom(orderId: Schemas["ExternalId"]): Promise<Schemas["RoomDto"]> {
    return this.call("POST", `/chat/order/${encodeURIComponent(orderId)}/chat`);
  }

  /** A page of history. */
  history(
    roomId: number,
    query: paths["/chat/{room_id}/messages"]["get"]["parameters"]["query"] = {},
  ): Promise<Schemas["MessagePage"]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    return this.call("GET", `/chat/${roomId}/messages?${params.toString()}`);
  }

  /** Sends a message; a retry with the same client_id returns the original. */
  send(roomId: number, body: Schemas["SendMessageBody"]): Promise<Schemas["MessageDto"]> {
    return this.call("POST", `/chat/${roomId}/messages`, body);
  }

  /** Uploads a file as a browser form does (the browser sets the multipart boundary). */
  async upload(roomId: number, file: Blob, filename: string): Promise<Schemas["AttachmentDto"]> {
    const form = new FormData();
    form.append("file", file, filename);
    const response = await fetch(`${this.baseUrl}/chat/${roomId}/attachments`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token}` },
      body: form,
    });
    if (response.status !== 201) {
      const error = (await response.json()) as ErrorBody;
      throw new Error(`${response.status} ${error.error.code}: ${error.error.message}`);
    }
    return (await response.json()) as Schemas["AttachmentDto"];
  }

  /**
   * Puts a file straight into the object store (S3 deployments): asks for a presigned URL,
   * PUTs the bytes there, and has the service check them. Answers the checked attachment,
   * ready for `attachment_ids`.
   */
  async uploadDirect(roomId: number, file: File): Promise<Schemas["AttachmentDto"]> {
    const request: Schemas["DirectUploadBody"] = {
      filename: file.name,
      size: file.size,
      content_type: file.type,
    };
    const upload = await this.call<Schemas["DirectUploadDto"]>(
      "POST",
      `/chat/${roomId}/attachments/direct`,
      request,
    );
    const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: file });
    if (!put.ok) {
      throw new Error(`the object store refused the upload: ${put.status}`);
    }
    return this.call("POST", `/attachments/${upload.attachment_id}/complete`);
  }
}

export async function example(client: RoomChatsClient): Promise<string> {
  const room = await client.createOrGetRoom("1042");
  const sent = await client.send(room.id, { content: "Hello", client_id: "first" });
  const page = await client.history(room.id, { after: sent.seq - 1, limit: 50 });
  const rooms = await client.listRooms({ status: "open", assigned: "me", limit: 20 });
  const first: Schemas["RoomSummaryDto"] | undefined = rooms.items[0];
  const photo = await client.upload(room.id, new Blob(["…"], { type: "image/png" }), "parcel.png");
  const href = `/attachments/${photo.id}`;
  return `${page.items.length} ${first?.unread ?? 0} ${rooms.next_cursor ?? "end"} ${href} ${photo.sha256}`;
}
