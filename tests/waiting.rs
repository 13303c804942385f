//! Who a room waits for (issue 28, point 1): kept by the message write path, cleared by a close,
//! carried by the room detail and the room list.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Backend, NodeOptions, TestApp};

on_both_backends!(
    a_room_waits_for_whoever_did_not_speak_last,
    staff_filter_the_list_by_who_waits,
    staff_see_who_waited_longest_first,
    rooms_stored_before_the_waiting_state_get_it_from_their_messages
);

/// The room's `waiting` as the room detail and the room list show it (they must agree).
async fn waiting(app: &TestApp, room: i64, admin: &str) -> Value {
    let detail = app
        .call("GET", &format!("/chat/{room}"), Some(admin), None)
        .await;
    assert_eq!(detail.status, 200, "{detail:?}");
    let listed = app.call("GET", "/chat?limit=100", Some(admin), None).await;
    let in_list = listed.json["items"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|item| item["id"] == room)
        .map(|item| item["waiting"].clone())
        .expect("the room is listed");
    assert_eq!(in_list, detail.json["waiting"], "list and detail agree");
    detail.json["waiting"].clone()
}

fn expect(waiting: &Value, party: &str, since: DateTime<Utc>) {
    assert_eq!(waiting["for"], party, "{waiting}");
    assert_eq!(waiting_since(waiting), since, "{waiting}");
}

/// `waiting.since` as a time: its text drops trailing zeros of the fraction.
pub fn waiting_since(waiting: &Value) -> DateTime<Utc> {
    waiting["since"]
        .as_str()
        .and_then(|since| since.parse().ok())
        .unwrap_or_else(|| panic!("no time in {waiting}"))
}

/// Nothing said: no one waits. The customer writes: staff are waited for, since that first
/// message (not the customer's later ones, nor an assignment). Staff answer: the customer
/// is, since the answer.
/// Closing ends the wait; a reopened room waits for no one until the next message.
async fn a_room_waits_for_whoever_did_not_speak_last(app: TestApp) {
    let room = app.room("W-1", "cust-w").await;
    let customer = app.tokens.client("cust-w");
    let admin = app.tokens.admin("staff-w");
    assert!(
        waiting(&app, room, &admin).await.is_null(),
        "nothing said yet"
    );

    let first = app.send(room, &customer, "Where is my parcel?").await;
    let since = first.created_at;
    expect(&waiting(&app, room, &admin).await, "staff", since);
    app.send(room, &customer, "Hello?").await;
    expect(&waiting(&app, room, &admin).await, "staff", since);
    // Taking the room is not an answer.
    let assigned = app
        .call(
            "PUT",
            &format!("/chat/{room}/admins/staff-w"),
            Some(&admin),
            None,
        )
        .await;
    assert!(assigned.status < 300, "{assigned:?}");
    expect(&waiting(&app, room, &admin).await, "staff", since);

    let answer = app.send(room, &admin, "On its way").await;
    let answered = answer.created_at;
    expect(&waiting(&app, room, &admin).await, "customer", answered);
    app.send(room, &admin, "Tracking: 123").await;
    expect(&waiting(&app, room, &admin).await, "customer", answered);

    let again = app.send(room, &customer, "Thanks, one more thing").await;
    let asked = again.created_at;
    expect(&waiting(&app, room, &admin).await, "staff", asked);

    let closed = app.close(room, &admin).await;
    assert!(closed.json["waiting"].is_null(), "{closed:?}");
    assert!(waiting(&app, room, &admin).await.is_null(), "closed");
    let reopened = app
        .call("POST", &format!("/chat/{room}/reopen"), Some(&admin), None)
        .await;
    assert_eq!(reopened.status, 200, "{reopened:?}");
    assert!(waiting(&app, room, &admin).await.is_null(), "reopened");
    let after = app.send(room, &customer, "Back again").await;
    let after = after.created_at;
    expect(&waiting(&app, room, &admin).await, "staff", after);
}

/// The state is the database's, not a node's memory: another node of the cluster shows the
/// wait the first one recorded.
#[actix_web::test]
async fn another_node_sees_who_waits() {
    let app = TestApp::start(Backend::Postgres).await;
    let room = app.room("W-2", "cust-r").await;
    let customer = app.tokens.client("cust-r");
    let admin = app.tokens.admin("staff-r");
    let asked = app.send(room, &customer, "Is it shipped?").await;
    let since = asked.created_at;
    let peer = app.start_peer(NodeOptions::default()).await;
    expect(&waiting(&peer, room, &admin).await, "staff", since);
}

/// Every room of `GET /chat?{query}`, a page of one at a time through `next_cursor`.
async fn every_page(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    let mut rooms = Vec::new();
    let mut path = format!("/chat?limit=1&{query}");
    loop {
        let page = app.call("GET", &path, Some(token), None).await;
        assert_eq!(page.status, 200, "{page:?}");
        rooms.extend(
            page.json["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|item| item["id"].as_i64()),
        );
        match page.json["next_cursor"].as_str() {
            Some(cursor) => path = format!("/chat?limit=1&{query}&cursor={cursor}"),
            None => return rooms,
        }
    }
}

/// `?waiting=staff|customer|none` keeps the rooms in that state, in the list's order and with
/// its paging; another value is a 400 as for any unparsable query.
async fn staff_filter_the_list_by_who_waits(app: TestApp) {
    let admin = app.tokens.admin("staff-f");
    let asking = app.room("F-ask", "cust-a").await;
    let answered = app.room("F-ans", "cust-b").await;
    let quiet = app.room("F-quiet", "cust-c").await;
    let asking_too = app.room("F-ask2", "cust-d").await;
    app.send(asking, &app.tokens.client("cust-a"), "Hello?")
        .await;
    app.send(answered, &app.tokens.client("cust-b"), "Hi").await;
    app.send(answered, &admin, "Hello, how can we help?").await;
    app.send(asking_too, &app.tokens.client("cust-d"), "Anyone?")
        .await;

    let listed = |query: &'static str| every_page(&app, &admin, query);
    assert_eq!(
        listed("waiting=staff").await,
        [asking_too, asking],
        "newest activity first"
    );
    assert_eq!(listed("waiting=customer").await, [answered]);
    assert_eq!(listed("waiting=none").await, [quiet]);
    app.call("GET", "/chat?waiting=anyone", Some(&admin), None)
        .await
        .assert_error(400, "bad_request");
}

/// `?sort=waiting_longest` lists the rooms waiting for staff by when they began waiting, not by
/// activity: a customer asking again does not move their room up, an answer takes it out, the
/// customer's next question puts it at the end. The cursor pages that order through every
/// change, composes with the other filters, and pages no other order.
async fn staff_see_who_waited_longest_first(app: TestApp) {
    let admin = app.tokens.admin("staff-l");
    let first = app.room("L-1", "cust-l1").await;
    let second = app.room("L-2", "cust-l2").await;
    let third = app.room("L-3", "cust-l3").await;
    let quiet = app.room("L-quiet", "cust-l4").await;
    app.send(first, &app.tokens.client("cust-l1"), "Hello?")
        .await;
    app.send(second, &app.tokens.client("cust-l2"), "Hi").await;
    app.send(third, &app.tokens.client("cust-l3"), "Anyone?")
        .await;
    app.send(first, &app.tokens.client("cust-l1"), "Still there?")
        .await;
    let longest = |query: &'static str| every_page(&app, &admin, query);

    assert_eq!(
        longest("sort=waiting_longest").await,
        [first, second, third],
        "by when each began waiting"
    );
    assert_eq!(
        every_page(&app, &admin, "waiting=staff").await,
        [first, third, second],
        "the default order is newest activity"
    );
    app.send(second, &admin, "Hello, how can we help?").await;
    assert_eq!(longest("sort=waiting_longest").await, [first, third]);
    app.send(second, &app.tokens.client("cust-l2"), "My parcel")
        .await;
    assert_eq!(
        longest("sort=waiting_longest&waiting=staff").await,
        [first, third, second]
    );
    app.close(first, &admin).await;
    assert_eq!(longest("sort=waiting_longest").await, [third, second]);
    let assigned = app
        .call(
            "PUT",
            &format!("/chat/{third}/admins/staff-l"),
            Some(&admin),
            None,
        )
        .await;
    assert!(assigned.status < 300, "{assigned:?}");
    assert_eq!(
        longest("sort=waiting_longest&assigned=none").await,
        [second]
    );
    assert_eq!(longest("sort=waiting_longest&assigned=me").await, [third]);
    // A customer sees only their own room in that order.
    assert_eq!(
        every_page(&app, &app.tokens.client("cust-l2"), "sort=waiting_longest").await,
        [second]
    );
    assert!(!longest("sort=waiting_longest").await.contains(&quiet));

    app.call(
        "GET",
        "/chat?sort=waiting_longest&waiting=customer",
        Some(&admin),
        None,
    )
    .await
    .assert_error(422, "validation_failed");
    let activity = app.call("GET", "/chat?limit=1", Some(&admin), None).await;
    let cursor = activity.json["next_cursor"].as_str().expect("a next page");
    app.call(
        "GET",
        &format!("/chat?sort=waiting_longest&cursor={cursor}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(400, "bad_request");
    let waiting = app
        .call(
            "GET",
            "/chat?limit=1&sort=waiting_longest",
            Some(&admin),
            None,
        )
        .await;
    let cursor = waiting.json["next_cursor"].as_str().expect("a next page");
    assert!(cursor.starts_with('w'), "{cursor}");
    app.call("GET", &format!("/chat?cursor={cursor}"), Some(&admin), None)
        .await
        .assert_error(400, "bad_request");
}

/// Rooms stored before the waiting state existed (their state NULL, the backfill's mark above
/// them, as the migration leaves them): the backfill works out each one from its messages — the
/// side of the newest message's sender waits for the other, since the first message of that
/// side's run — and leaves alone a room whose newest entry is an event (reopened: no one
/// waits until the next message), a closed room and a room where nothing was said.
async fn rooms_stored_before_the_waiting_state_get_it_from_their_messages(app: TestApp) {
    use room_chats_store::waiting_backfill::{BackfillStep, fill_next_range};

    let staff = app.tokens.admin("staff-b");
    let asking = app.room("B-ask", "cust-b1").await;
    let answered = app.room("B-ans", "cust-b2").await;
    let reopened = app.room("B-reo", "cust-b3").await;
    let quiet = app.room("B-quiet", "cust-b4").await;
    let closed = app.room("B-closed", "cust-b5").await;
    let customer = |n: &str| app.tokens.client(&format!("cust-b{n}"));
    app.send(asking, &customer("1"), "Hi").await;
    app.send(asking, &staff, "Hello!").await;
    let first_of_run = app.send(asking, &customer("1"), "Where is it?").await;
    app.send(asking, &customer("1"), "Hello??").await;
    app.send(answered, &customer("2"), "Thanks").await;
    let answer = app.send(answered, &staff, "You are welcome").await;
    app.send(reopened, &customer("3"), "One question").await;
    app.send(closed, &customer("5"), "Bye").await;
    for (room, action) in [(reopened, "close"), (reopened, "reopen"), (closed, "close")] {
        let changed = app
            .call(
                "POST",
                &format!("/chat/{room}/{action}"),
                Some(&staff),
                None,
            )
            .await;
        assert_eq!(changed.status, 200, "{changed:?}");
    }

    app.execute_sql("UPDATE chat_rooms SET waiting_for = NULL, waiting_since = NULL");
    app.execute_sql("UPDATE waiting_backfill SET below = (SELECT max(id) + 1 FROM chat_rooms)");
    let db = app.database();
    loop {
        let step = db.run(fill_next_range).await.expect("a step");
        if step == BackfillStep::Done {
            break;
        }
    }

    expect(
        &waiting(&app, asking, &staff).await,
        "staff",
        first_of_run.created_at,
    );
    expect(
        &waiting(&app, answered, &staff).await,
        "customer",
        answer.created_at,
    );
    for room in [reopened, quiet, closed] {
        assert!(waiting(&app, room, &staff).await.is_null(), "room {room}");
    }
    let queue = app
        .call("GET", "/chat?sort=waiting_longest", Some(&staff), None)
        .await;
    let queued: Vec<i64> = queue.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["id"].as_i64())
        .collect();
    assert_eq!(queued, [asking], "the side table follows the backfill");
}
