// End to end in a real browser: a customer page and an admin dashboard in two headless
// Chromium pages talk through a real room-chats server. Needs the compiled client (`npm run
// build`), Chromium (/usr/bin/chromium, or CHROMIUM) and the server binary (ROOM_CHATS_BIN,
// default ../../target/debug/room-chats). On failure, screenshots go to e2e/failures/.

import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const bin = process.env.ROOM_CHATS_BIN ?? join(here, "../../../target/debug/room-chats");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const dataDir = mkdtempSync(join(tmpdir(), "room-chats-e2e-"));

let server, statics, browser, api, site, port;

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function token(sub, role) {
  return execFileSync(bin, ["token", "--sub", sub, "--role", role], {
    env: { ...process.env, DATA_DIR: dataDir },
  })
    .toString()
    .trim();
}

async function untilReady(url) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never answered`);
}

/** Starts the service on `port` (again, after a restart) and waits until it is ready. */
async function startServer() {
  server = spawn(bin, ["serve"], {
    // A first-response target short enough to be missed while a test watches.
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      BIND: `127.0.0.1:${port}`,
      ALLOWED_ORIGINS: site,
      RUST_LOG: "warn",
      SLA_FIRST_RESPONSE_SECS: "2",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await untilReady(`${api}/readyz`);
}

/** Stops the service as an orchestrator does (SIGTERM) and waits for the process to end. */
async function stopServer() {
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
}

async function registerOrder(orderId, customerId) {
  const registered = await fetch(`${api}/orders/${orderId}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token("shop", "service")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer_id: customerId, reference: `#${orderId}` }),
  });
  assert.ok(registered.ok, `order registered: ${registered.status}`);
}

/** Runs `steps` with fresh admin and customer pages; screenshots both when a step fails. */
async function withPages(name, steps) {
  const pages = { admin: await browser.newPage(), customer: await browser.newPage() };
  try {
    await steps(pages.admin, pages.customer);
  } catch (error) {
    mkdirSync(join(here, "failures"), { recursive: true });
    for (const [role, page] of Object.entries(pages)) {
      await page.screenshot({ path: join(here, "failures", `${name}-${role}.png`), fullPage: true });
    }
    throw error;
  } finally {
    await pages.admin.close();
    await pages.customer.close();
  }
}

before(async () => {
  statics = await serve(0);
  site = `http://127.0.0.1:${statics.address().port}`;
  port = await freePort();
  api = `http://127.0.0.1:${port}`;
  await startServer();
  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  statics?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a customer and an admin converse in two browsers", async () => {
  await registerOrder("1042", "customer-1");
  await withPages("conversation", (staff, buyer) =>
    converse(staff, buyer, token("staff-1", "admin"), token("customer-1", "client")),
  );
});

test("a message written while the server restarts arrives once after the reconnect", async () => {
  await registerOrder("1043", "customer-2");
  await withPages("restart", async (staff, buyer) => {
    await staff.goto(`${site}/admin.html#api=${api}&token=${token("staff-2", "admin")}`);
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-2", "client")}&order=1043`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1043" }).waitFor();
    const inboxRoom = staff.locator('li.room[data-order="1043"]');
    await inboxRoom.click();
    await staff.locator('.conversation[data-connection="open"]').waitFor();

    await stopServer();
    await buyer.getByText("Reconnecting…").waitFor();
    await buyer.getByTestId("composer").fill("written while you were away");
    await buyer.getByTestId("composer").press("Enter");
    await buyer.locator("li.pending", { hasText: "written while you were away" }).waitFor();

    await startServer();
    await buyer.locator("li.mine:not(.pending)", { hasText: "written while you were away" }).waitFor();
    await staff.locator("li.theirs", { hasText: "written while you were away" }).waitFor();
    assert.equal(await staff.locator("li.theirs", { hasText: "written while you were away" }).count(), 1);
    assert.equal(await buyer.locator("li", { hasText: "written while you were away" }).count(), 1);
  });
});

test("an admin finds a conversation by a word and opens it", async () => {
  await registerOrder("1044", "customer-3");
  await withPages("search", async (staff, buyer) => {
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-3", "client")}&order=1044`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1044" }).waitFor();
    await buyer.getByTestId("composer").fill("The zipper of my backpack broke");
    await buyer.getByTestId("composer").press("Enter");
    await buyer.locator("li.mine:not(.pending)", { hasText: "The zipper of my backpack broke" }).waitFor();

    await staff.goto(`${site}/admin.html#api=${api}&token=${token("staff-3", "admin")}`);
    await staff.getByText("Live").waitFor();
    // Typed as a person types: the last word is a prefix, so the results come while typing.
    await staff.getByTestId("search").pressSequentially("backp", { delay: 30 });
    const hit = staff.getByTestId("hit").filter({ hasText: "Order #1044" });
    await hit.waitFor();
    assert.equal(await hit.locator("mark").textContent(), "backpack");
    await hit.click();
    await staff.locator("li.theirs", { hasText: "The zipper of my backpack broke" }).waitFor();
    await staff.locator('li.room.selected[data-order="1044"]').waitFor();
  });
});

test("an admin takes a room and answers with a saved reply", async () => {
  await registerOrder("1045", "customer-4");
  const admin = token("staff-4", "admin");
  const saved = await fetch(`${api}/canned-replies`, {
    method: "POST",
    headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "Parcel delayed", content: "Your parcel is delayed by two days, sorry.", shortcut: "delayed" }),
  });
  assert.equal(saved.status, 201, "reply saved");
  await withPages("canned", async (staff, buyer) => {
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-4", "client")}&order=1045`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1045" }).waitFor();
    await staff.goto(`${site}/admin.html#api=${api}&token=${admin}`);
    await staff.getByText("Live").waitFor();
    await buyer.getByTestId("composer").fill("Where is my parcel?");
    await buyer.getByTestId("composer").press("Enter");
    await buyer.locator("li.mine:not(.pending)", { hasText: "Where is my parcel?" }).waitFor();
    const inboxRoom = staff.locator('li.room[data-order="1045"]');
    await inboxRoom.getByTestId("assignee").filter({ hasText: "Unassigned" }).waitFor();
    // The customer spoke last: the room waits for staff.
    await inboxRoom.getByTestId("waiting").filter({ hasText: "Waiting for you since" }).waitFor();
    await inboxRoom.click();
    await staff.locator('.conversation[data-connection="open"]').waitFor();

    // Taking the room: the button says so, and the inbox line names who handles it.
    await staff.getByTestId("assign").click();
    await staff.getByTestId("assign").filter({ hasText: "Assigned to you" }).waitFor();
    assert.equal(await staff.getByTestId("assign").isDisabled(), true);
    await inboxRoom.getByTestId("assignee").filter({ hasText: "you" }).waitFor();

    // The "Waiting" view lists the rooms whose customer waits for an answer.
    await staff.getByTestId("view-waiting").click();
    await inboxRoom.getByTestId("waiting").waitFor();

    // Picking the reply fills the composer; the admin sends it as any message.
    await staff.getByTestId("canned").selectOption({ label: "Parcel delayed (/delayed)" });
    assert.equal(await staff.getByTestId("composer").inputValue(), "Your parcel is delayed by two days, sorry.");
    await staff.getByTestId("composer").press("Enter");
    await buyer.locator("li.theirs", { hasText: "Your parcel is delayed by two days, sorry." }).waitFor();
    // Answered: the room waits for the customer now; it leaves the "Waiting" view live, and
    // shows in "All" without the badge.
    await inboxRoom.waitFor({ state: "detached" });
    await staff.getByTestId("view-all").click();
    await inboxRoom.waitFor();
    assert.equal(await inboxRoom.getByTestId("waiting").count(), 0);
  });
});

test("an internal note stays with staff: the customer's page never shows it", async () => {
  await registerOrder("1046", "customer-5");
  await withPages("note", async (staff, buyer) => {
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-5", "client")}&order=1046`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1046" }).waitFor();
    await buyer.getByTestId("composer").fill("Can I still change the address?");
    await buyer.getByTestId("composer").press("Enter");
    await buyer.locator("li.mine:not(.pending)", { hasText: "change the address" }).waitFor();

    await staff.goto(`${site}/admin.html#api=${api}&token=${token("staff-5", "admin")}`);
    await staff.getByText("Live").waitFor();
    const inboxRoom = staff.locator('li.room[data-order="1046"]');
    await inboxRoom.click();
    await staff.locator('.conversation[data-connection="open"]').waitFor();

    // The note is written from the same composer, and shown apart from the conversation.
    await staff.getByTestId("note-toggle").check();
    await staff.getByTestId("composer").fill("Warehouse has not packed it yet");
    await staff.getByTestId("composer").press("Enter");
    const note = staff.getByTestId("note").filter({ hasText: "Warehouse has not packed it yet" });
    await note.waitFor();
    assert.match(await note.locator(".sender").textContent(), /Internal note/);
    // A note is not an answer: the customer still waits.
    await inboxRoom.getByTestId("waiting").filter({ hasText: "Waiting for you since" }).waitFor();

    await staff.getByTestId("note-toggle").uncheck();
    await staff.getByTestId("composer").fill("Yes, send us the new address");
    await staff.getByTestId("composer").press("Enter");
    // The answer reaches the customer live; the note, written before it, never did.
    await buyer.locator("li.theirs", { hasText: "send us the new address" }).waitFor();
    assert.equal(await buyer.getByText("Warehouse has not packed it yet").count(), 0);
    // Nor does it come with the history of a fresh page.
    await buyer.reload();
    await buyer.locator("li.theirs", { hasText: "send us the new address" }).waitFor();
    assert.equal(await buyer.getByText("Warehouse has not packed it yet").count(), 0);
    assert.equal(await buyer.getByTestId("note-toggle").isVisible(), false);
    await inboxRoom.getByTestId("waiting").waitFor({ state: "detached" });
  });
});

test("both sides see the order ship, with its tracking link", async () => {
  await registerOrder("1047", "customer-6");
  await withPages("order-event", async (staff, buyer) => {
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-6", "client")}&order=1047`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1047" }).waitFor();
    await staff.goto(`${site}/admin.html#api=${api}&token=${token("staff-6", "admin")}`);
    await staff.getByText("Live").waitFor();
    await staff.locator('li.room[data-order="1047"]').click();
    await staff.locator('.conversation[data-connection="open"]').waitFor();
    await buyer.locator('.conversation[data-connection="open"], [data-connection="open"]').first().waitFor();

    const shipped = await fetch(`${api}/orders/1047/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token("platform", "service")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ status: "shipped", text: "Handed to the carrier", tracking_url: "https://track.example.com/p/1047" }),
    });
    assert.equal(shipped.status, 201, "event recorded");
    for (const page of [staff, buyer]) {
      const entry = page.getByTestId("order-event").filter({ hasText: "Order shipped — Handed to the carrier" });
      await entry.waitFor();
      assert.equal(await entry.locator("a").getAttribute("href"), "https://track.example.com/p/1047");
    }
  });
});

test("a customer left waiting past the response target shows as overdue until staff answer", async () => {
  await registerOrder("1048", "customer-7");
  await withPages("overdue", async (staff, buyer) => {
    await staff.goto(`${site}/admin.html#api=${api}&token=${token("staff-7", "admin")}`);
    await staff.getByText("Live").waitFor();
    await buyer.goto(`${site}/customer.html#api=${api}&token=${token("customer-7", "client")}&order=1048`);
    await buyer.getByTestId("room-title").filter({ hasText: "Order #1048" }).waitFor();
    await buyer.getByTestId("composer").fill("Is anyone there?");
    await buyer.getByTestId("composer").press("Enter");

    // SLA_FIRST_RESPONSE_SECS=2: the deadline shows with the wait, then the miss, live.
    const inboxRoom = staff.locator('li.room[data-order="1048"]');
    await inboxRoom.getByTestId("waiting").filter({ hasText: "answer due" }).waitFor();
    await inboxRoom.getByTestId("breached").waitFor({ timeout: 15_000 });
    assert.equal(await buyer.getByText("overdue", { exact: false }).count(), 0);

    await inboxRoom.click();
    await staff.locator('.conversation[data-connection="open"]').waitFor();
    await staff.getByTestId("composer").fill("Sorry, here now");
    await staff.getByTestId("composer").press("Enter");
    await inboxRoom.getByTestId("breached").waitFor({ state: "detached" });
    await buyer.locator("li.theirs", { hasText: "Sorry, here now" }).waitFor();
  });
});

async function converse(staff, buyer, admin, customer) {
  await staff.goto(`${site}/admin.html#api=${api}&token=${admin}`);
  await staff.getByText("Live").waitFor();

  // The customer opens the order's chat: the room appears in the admin's inbox, live.
  await buyer.goto(`${site}/customer.html#api=${api}&token=${customer}&order=1042`);
  await buyer.getByTestId("room-title").filter({ hasText: "Order #1042" }).waitFor();
  const inboxRoom = staff.locator('li.room[data-order="1042"]');
  await inboxRoom.waitFor();

  // Typing is seen by the other side; the message raises the unread badge.
  await buyer.getByTestId("composer").pressSequentially("My parcel", { delay: 20 });
  await buyer.getByTestId("composer").fill("My parcel arrived damaged");
  await buyer.getByTestId("composer").press("Enter");
  await buyer.locator("li.mine:not(.pending)", { hasText: "My parcel arrived damaged" }).waitFor();
  await inboxRoom.getByTestId("unread").filter({ hasText: "1" }).waitFor();

  // The admin opens the room, reads (the badge goes, the customer sees "Seen"), and answers
  // while the customer sees the typing indicator first.
  await inboxRoom.click();
  await staff.locator("li.theirs", { hasText: "My parcel arrived damaged" }).waitFor();
  await inboxRoom.getByTestId("unread").waitFor({ state: "detached" });
  await buyer.getByTestId("seen").waitFor();
  // "Seen" holds after a reload: the page reads the members' markers on load, not only live.
  await buyer.reload();
  await buyer.locator("li.mine", { hasText: "My parcel arrived damaged" }).getByTestId("seen").waitFor();
  await buyer.locator('[data-connection="open"]').first().waitFor();
  await staff.getByTestId("composer").pressSequentially("Sorry", { delay: 20 });
  await buyer.getByTestId("typing").filter({ hasText: "staff-1 is typing" }).waitFor();
  await staff.getByTestId("composer").fill("Sorry about that, a replacement is on its way");
  await staff.getByTestId("composer").press("Enter");
  await buyer.locator("li.theirs", { hasText: "a replacement is on its way" }).waitFor();
  await buyer.getByTestId("typing").filter({ hasText: /^$/ }).waitFor();

  // The admin closes the room: the customer's composer turns off.
  await staff.getByTestId("close").click();
  await buyer.locator('[data-status="closed"]').waitFor();
  assert.equal(await buyer.getByTestId("composer").isDisabled(), true);
  await inboxRoom.locator(".state.closed").waitFor();

  if (process.env.SCREENSHOTS) {
    await buyer.screenshot({ path: join(here, "../screenshots/customer.png") });
    await staff.screenshot({ path: join(here, "../screenshots/admin.png") });
  }
}
