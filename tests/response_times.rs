//! Response-time targets (issue 28, point 2): a room waiting for staff runs a clock; a missed
//! target marks the room breached once — a staff-only `sla_breached` event, the
//! `room.sla_breached` webhook, a metric — on whichever node sweeps, also after the node that
//! started the clock died; business hours move a deadline past closed days.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use serde_json::Value;

use room_chats_core::sla::{BusinessHours, ResponseTargets};
use room_chats_core::webhooks::WebhookSettings;
use room_chats_workers::ResponseClockSettings;

use crate::support::receiver::Receiver;
use crate::support::{Backend, NodeOptions, TestApp};

/// Short targets, so that a test waits for the sweep, not for minutes.
const FIRST: Duration = Duration::from_millis(1_500);
const PATIENCE: Duration = Duration::from_secs(20);
/// The promise: a breach is noticed within this of its deadline.
const NOTICED_WITHIN: TimeDelta = TimeDelta::seconds(5);

/// A node with `targets`, sweeping every 100 ms, whose webhooks go out at once.
fn with_targets(targets: ResponseTargets) -> NodeOptions {
    NodeOptions {
        response_clocks: ResponseClockSettings {
            targets,
            sweep_every: Duration::from_millis(100),
        },
        webhooks: WebhookSettings {
            poll_interval: Duration::from_millis(50),
            allow_private_urls: true,
            ..WebhookSettings::DEFAULT
        },
        ..NodeOptions::default()
    }
}

/// A first-response target of [`FIRST`] and a next-response target too long to miss here.
fn first_response_target() -> ResponseTargets {
    ResponseTargets {
        first_response: Some(FIRST),
        next_response: Some(Duration::from_secs(600)),
        business_hours: None,
    }
}

crate::on_both_backends!(
    backend: a_missed_first_response_is_marked_once_and_announced_to_staff,
    a_closed_room_stops_its_clock_and_a_reopened_one_starts_a_first_response_clock,
    business_hours_move_a_deadline_past_the_closed_days,
    an_answer_after_the_deadline_that_beat_the_sweep_is_a_breach_too,
    rooms_that_miss_their_targets_together_each_get_one_breach_at_their_next_seq,
);

fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no time in {value}"))
}

/// The rooms of the `room.sla_breached` webhooks `receiver` accepted, in id order (a room
/// twice if it came twice).
fn breached_rooms(receiver: &Receiver) -> Vec<i64> {
    let mut rooms: Vec<i64> = receiver
        .accepted()
        .iter()
        .map(|delivery| delivery.event["data"]["room"]["id"].as_i64().unwrap_or(0))
        .collect();
    rooms.sort_unstable();
    rooms
}

/// `room_chats_sla_breaches_total{clock=…}` on a node.
async fn breaches_counted(app: &TestApp, clock: &str) -> f64 {
    crate::metrics::scrape(app).await.value(&format!(
        "room_chats_sla_breaches_total{{clock=\"{clock}\"}}"
    ))
}

/// The customer asks and nobody answers: the clock (`first_response`, due [`FIRST`] after the
/// question) is marked breached within seconds of its deadline. Staff see the `sla_breached`
/// event live with the missed clock; the customer's socket never gets it (the next frame it
/// sees is the answer, past the event's seq); integrations get one `room.sla_breached`; the
/// metric counts one. The answer stops the clock; the customer's next question starts a
/// `next_response` clock.
async fn a_missed_first_response_is_marked_once_and_announced_to_staff(backend: Backend) {
    let app = TestApp::start_node(backend, with_targets(first_response_target())).await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let room = app.room("SLA-1", "cust-sla").await;
    let customer = app.tokens.client("cust-sla");
    let staff = app.tokens.admin("agent");
    let mut staff_socket = app.ws(room, &staff).await;
    staff_socket.handshake().await;
    let mut customer_socket = app.ws(room, &customer).await;
    customer_socket.handshake().await;

    let question = app.send(room, &customer, "Where is my parcel?").await;
    let clock = app.room_detail(room).await["sla"].clone();
    assert_eq!(clock["clock"], "first_response", "{clock}");
    assert_eq!(time_of(&clock["started_at"]), question.created_at);
    assert!(clock["breached_at"].is_null(), "{clock}");

    let breach = staff_socket.next_room_event("sla_breached").await;
    let missed = &breach["room"]["sla"];
    assert_eq!(missed["clock"], "first_response", "{breach}");
    let due = time_of(&missed["due_at"]);
    assert_eq!(
        due,
        question.created_at + TimeDelta::from_std(FIRST).expect("target")
    );
    let noticed = time_of(&missed["breached_at"]);
    assert!(
        noticed > due && noticed - due < NOTICED_WITHIN,
        "due {due}, noticed {noticed}"
    );
    assert_eq!(app.room_detail(room).await["sla"], *missed);

    let answer = app.send(room, &staff, "It ships today").await;
    loop {
        let frame = customer_socket.next_json().await;
        assert_ne!(frame["event"], "sla_breached", "the customer got {frame}");
        if frame["type"] == "message" && frame["message"]["id"] == answer.id {
            break;
        }
    }
    assert!(
        answer.seq > breach["seq"].as_i64().expect("seq"),
        "the answer comes after the breach"
    );
    let answered = app.room_detail(room).await;
    assert!(answered["sla"].is_null(), "{answered}");
    assert_eq!(answered["waiting"]["for"], "customer");

    let delivered = receiver.wait_for_accepted(1, PATIENCE).await;
    assert_eq!(delivered[0].event["type"], "room.sla_breached");
    assert_eq!(delivered[0].event["data"]["room"]["id"], room);
    assert_eq!(delivered[0].event["data"]["room"]["sla"], *missed);
    assert_eq!(breaches_counted(&app, "first_response").await, 1.0);

    app.send(room, &customer, "Thanks! And the invoice?").await;
    let next = app.room_detail(room).await["sla"].clone();
    assert_eq!(next["clock"], "next_response", "{next}");
    // Once and only once: the sweep went on running after the breach.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.accepted().len(), 1);
    assert_eq!(breaches_counted(&app, "first_response").await, 1.0);
}

/// Customers of several rooms ask at once: the sweep marks their clocks in one pass (their
/// events written together), and each room gets exactly one breach, at its own next seq, with
/// its own missed clock.
async fn rooms_that_miss_their_targets_together_each_get_one_breach_at_their_next_seq(
    backend: Backend,
) {
    let app = TestApp::start_node(backend, with_targets(first_response_target())).await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let mut questions = Vec::new();
    for n in 0..6 {
        let customer = format!("cust-together-{n}");
        let room = app.room(&format!("SLA-G{n}"), &customer).await;
        let question = app
            .send(room, &app.tokens.client(&customer), "Hello?")
            .await;
        questions.push((room, question));
    }
    receiver.wait_for_accepted(questions.len(), PATIENCE).await;
    let rooms: Vec<i64> = questions.iter().map(|(room, _)| *room).collect();
    assert_eq!(breached_rooms(&receiver), rooms, "one webhook per room");
    for (room, question) in &questions {
        let detail = app.room_detail(*room).await;
        assert_eq!(detail["last_seq"], question.seq + 1, "{detail}");
        assert_eq!(detail["sla"]["clock"], "first_response", "{detail}");
        assert_eq!(time_of(&detail["sla"]["started_at"]), question.created_at);
        assert!(!detail["sla"]["breached_at"].is_null(), "{detail}");
    }
    assert_eq!(
        breaches_counted(&app, "first_response").await,
        questions.len() as f64
    );
}

/// A room closed while its customer waits stops the clock: no breach when the deadline passes.
/// Reopened, the customer's next message starts a `first_response` clock again (a new
/// conversation), even though staff had answered before.
async fn a_closed_room_stops_its_clock_and_a_reopened_one_starts_a_first_response_clock(
    backend: Backend,
) {
    let app = TestApp::start_node(backend, with_targets(first_response_target())).await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let room = app.room("SLA-2", "cust-2").await;
    let customer = app.tokens.client("cust-2");
    let staff = app.tokens.admin("agent");
    app.send(room, &customer, "Hello?").await;
    app.send(room, &staff, "Hello!").await;
    app.send(room, &customer, "Can I return it?").await;
    assert_eq!(app.room_detail(room).await["sla"]["clock"], "next_response");
    let closed = app.close(room, &staff).await;
    assert!(closed.json["sla"].is_null(), "{:?}", closed.json);

    // A room still asking, to know the sweep ran past the closed room's deadline.
    let other = app.room("SLA-3", "cust-3").await;
    app.send(other, &app.tokens.client("cust-3"), "Anyone?")
        .await;
    let delivered = receiver.wait_for_accepted(1, PATIENCE).await;
    assert_eq!(delivered[0].event["data"]["room"]["id"], other);

    let reopened = app
        .call("POST", &format!("/chat/{room}/reopen"), Some(&staff), None)
        .await;
    assert_eq!(reopened.status, 200, "{reopened:?}");
    app.send(room, &customer, "One more thing").await;
    let clock = app.room_detail(room).await["sla"].clone();
    assert_eq!(clock["clock"], "first_response", "{clock}");
    app.send(room, &staff, "Sure").await;
    assert!(app.room_detail(room).await["sla"].is_null());
    assert_eq!(receiver.accepted().len(), 1, "only the other room breached");
}

/// With business hours of one hour on a single day three days from now, a question asked
/// now is due that day at 09:00 plus the target — whatever day and hour the test runs.
async fn business_hours_move_a_deadline_past_the_closed_days(backend: Backend) {
    let open_day = Utc::now() + TimeDelta::days(3);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [open_day.weekday().num_days_from_monday() as usize];
    let hours = BusinessHours::parse(&format!("{day} 09:00-10:00"), "UTC").expect("schedule");
    let targets = ResponseTargets {
        first_response: Some(Duration::from_secs(60)),
        next_response: None,
        business_hours: Some(hours),
    };
    let app = TestApp::start_node(backend, with_targets(targets)).await;
    let room = app.room("SLA-4", "cust-4").await;
    app.send(room, &app.tokens.client("cust-4"), "Hello?").await;
    let deadline = Instant::now() + PATIENCE;
    let clock = loop {
        let clock = app.room_detail(room).await["sla"].clone();
        if !clock["due_at"].is_null() {
            break clock;
        }
        assert!(Instant::now() < deadline, "no deadline: {clock}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected = open_day
        .date_naive()
        .and_hms_opt(9, 1, 0)
        .expect("time")
        .and_utc();
    assert_eq!(time_of(&clock["due_at"]), expected, "{clock}");
    assert!(clock["breached_at"].is_null());
}

/// The room's clock once the sweep gave it its deadline.
async fn scheduled_clock(app: &TestApp, room: i64) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let clock = app.room_detail(room).await["sla"].clone();
        if !clock["due_at"].is_null() {
            return clock;
        }
        assert!(Instant::now() < deadline, "no deadline: {clock}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Staff answer after the deadline but before the sweep came round to mark the clock: the
/// answer is recorded late (its `breached_at` is the answer's time) and the next sweep
/// announces the breach — one event for staff, one `room.sla_breached` with the missed clock.
/// Timing: sweeps every 2 s, a 3 s target; the question is asked just after a sweep (seen on a
/// first room), so the next sweep gives it its deadline and the one after would mark it.
async fn an_answer_after_the_deadline_that_beat_the_sweep_is_a_breach_too(backend: Backend) {
    let targets = ResponseTargets {
        first_response: Some(Duration::from_secs(3)),
        next_response: None,
        business_hours: None,
    };
    let app = TestApp::start_node(
        backend,
        NodeOptions {
            response_clocks: ResponseClockSettings {
                targets,
                sweep_every: Duration::from_secs(2),
            },
            ..with_targets(ResponseTargets::OFF)
        },
    )
    .await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let pacer = app.room("SLA-P", "cust-p").await;
    app.send(pacer, &app.tokens.client("cust-p"), "Hello?")
        .await;
    scheduled_clock(&app, pacer).await;

    let room = app.room("SLA-L", "cust-l").await;
    let staff = app.tokens.admin("agent");
    let mut staff_socket = app.ws(room, &staff).await;
    staff_socket.handshake().await;
    app.send(room, &app.tokens.client("cust-l"), "Still there?")
        .await;
    let clock = scheduled_clock(&app, room).await;
    let due = time_of(&clock["due_at"]);
    assert!(clock["breached_at"].is_null(), "{clock}");
    let until_due = (due - Utc::now() + TimeDelta::milliseconds(300))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(until_due).await;
    let answer = app.send(room, &staff, "Sorry, just saw this").await;

    let breach = staff_socket.next_room_event("sla_breached").await;
    let missed = &breach["room"]["sla"];
    assert_eq!(time_of(&missed["due_at"]), due, "{breach}");
    assert_eq!(
        time_of(&missed["breached_at"]),
        answer.created_at,
        "marked by the answer, not by a sweep: {breach}"
    );
    assert!(breach["seq"].as_i64() > Some(answer.seq), "{breach}");
    let delivered = receiver.wait_for_accepted(2, PATIENCE).await;
    let rooms: Vec<&Value> = delivered
        .iter()
        .map(|delivery| &delivery.event["data"]["room"]["id"])
        .collect();
    assert!(rooms.contains(&&Value::from(room)), "{rooms:?}");
    assert!(app.room_detail(room).await["sla"].is_null());
}

/// The rooms of an app's database with their count of `sla_breached` events.
fn breach_events(app: &TestApp) -> Vec<(i64, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Breaches {
        #[diesel(sql_type = BigInt)]
        room_id: i64,
        #[diesel(sql_type = BigInt)]
        breaches: i64,
    }
    let counted: Vec<Breaches> = diesel::sql_query(
        "SELECT room_id, count(*) AS breaches FROM room_events \
         WHERE kind = 'sla_breached' GROUP BY room_id ORDER BY room_id",
    )
    .load(&mut app.postgres())
    .expect("counted");
    counted
        .into_iter()
        .map(|row| (row.room_id, row.breaches))
        .collect()
}

/// Two nodes sweep the same clocks every 100 ms: each missed target is marked once — one
/// event in the room's timeline, one webhook — and the nodes' metrics add up to the rooms.
#[actix_web::test]
async fn two_nodes_mark_each_breach_once() {
    let app = TestApp::start_node(Backend::Postgres, with_targets(first_response_target())).await;
    let peer = app.start_peer(with_targets(first_response_target())).await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let mut rooms = Vec::new();
    for n in 0..30 {
        let customer = format!("cust-two-{n}");
        let room = app.room(&format!("SLA-T{n}"), &customer).await;
        app.send(room, &app.tokens.client(&customer), "Hello?")
            .await;
        rooms.push(room);
    }
    receiver.wait_for_accepted(rooms.len(), PATIENCE).await;
    // Both nodes keep sweeping: nothing more may come.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(breached_rooms(&receiver), rooms, "one webhook per room");
    assert_eq!(
        breach_events(&app),
        rooms.iter().map(|room| (*room, 1)).collect::<Vec<_>>(),
        "one event per room"
    );
    let counted = breaches_counted(&app, "first_response").await
        + breaches_counted(&peer, "first_response").await;
    assert_eq!(counted, rooms.len() as f64);
}

/// The node that started a clock and gave it its deadline dies (its tasks end at once, as in
/// a SIGKILL) before the deadline; a node started afterwards marks the breach, within
/// seconds of the deadline. The first node of the test has no targets: it only serves.
#[actix_web::test]
async fn a_clock_outlives_the_node_that_started_it() {
    let app = TestApp::start_node(Backend::Postgres, with_targets(ResponseTargets::OFF)).await;
    let target = ResponseTargets {
        first_response: Some(Duration::from_secs(3)),
        ..first_response_target()
    };
    let doomed = app.start_peer(with_targets(target.clone())).await;
    let receiver = app.webhook_receiver(&["room.sla_breached"]).await;
    let room = doomed.room("SLA-K", "cust-k").await;
    doomed
        .send(room, &doomed.tokens.client("cust-k"), "Hello?")
        .await;
    let deadline = Instant::now() + PATIENCE;
    let due = loop {
        let clock = doomed.room_detail(room).await["sla"].clone();
        if !clock["due_at"].is_null() {
            break time_of(&clock["due_at"]);
        }
        assert!(Instant::now() < deadline, "no deadline: {clock}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(doomed);
    assert!(Utc::now() < due, "the node died before the deadline");
    assert!(app.room_detail(room).await["sla"]["breached_at"].is_null());

    let survivor = app.start_peer(with_targets(target)).await;
    let delivered = receiver.wait_for_accepted(1, PATIENCE).await;
    let missed = &delivered[0].event["data"]["room"]["sla"];
    assert_eq!(time_of(&missed["due_at"]), due, "{missed}");
    let noticed = time_of(&missed["breached_at"]);
    assert!(
        noticed > due && noticed - due < NOTICED_WITHIN,
        "due {due}, noticed {noticed}"
    );
    // The sweep counts its breaches when its pass ends, which may be after the webhook of
    // the breach was delivered.
    let deadline = Instant::now() + PATIENCE;
    while breaches_counted(&survivor, "first_response").await < 1.0 {
        assert!(Instant::now() < deadline, "the survivor counted no breach");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(breaches_counted(&survivor, "first_response").await, 1.0);
    assert_eq!(breach_events(&app), vec![(room, 1)]);
}
