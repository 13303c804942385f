// The customer's page: "chat about my order". Opens (or creates) the order's room and mounts
// the conversation. Session in the hash: #api=http://127.0.0.1:8000&token=…&order=1042

import { ApiError, RoomChatsApi, sessionFromHash } from "./api.js";
import { ChatView } from "./chat-view.js";
import { byId } from "./dom.js";

async function main(): Promise<void> {
  const session = sessionFromHash();
  const order = session.params.get("order");
  const notice = byId("notice");
  if (!session.token || !order) {
    notice.textContent = "Open this page with #token=<client token>&order=<order id> (see examples/web/README.md).";
    return;
  }
  const api = new RoomChatsApi(session);
  try {
    const room = await api.openOrderChat(order);
    new ChatView(byId("chat"), api, room.id);
  } catch (error) {
    notice.textContent =
      error instanceof ApiError && error.status === 404
        ? "This order is not yours, or the shop has not registered it yet."
        : `Cannot open the chat: ${String(error)}`;
  }
}

void main();
