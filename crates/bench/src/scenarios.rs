//! The named scenarios. Each prepares its rooms, drives connections and returns a report.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::BenchError;
use crate::connection::{Control, Plan, RoomGroup};
use crate::pool::{Job, Pool};
use crate::report::{Dashboard, Report, Step, WebhookRun};
use crate::rss::rss_bytes;
use crate::search::{Vocabulary, measure, seed};
use crate::setup::{RoomPlan, Signer, prepare};
use crate::stats::{Percentiles, SharedStats, Stats};
use crate::stream::StreamPlan;
use crate::webhook::Receiver;

/// Settings every scenario shares.
pub struct Common {
    pub nodes: Vec<String>,
    pub signer: Signer,
    pub threads: usize,
    pub pid: Option<u32>,
    pub connect_rate: f64,
    pub message_size: usize,
}

/// Connections per source address: one loopback address has about 28,000 ephemeral ports.
const PER_SOURCE: usize = 20_000;

struct Running {
    pool: Pool,
    control: Arc<Control>,
    stats: SharedStats,
    connections: usize,
    connect_secs: f64,
}

/// `node` (`http://…`) as a WebSocket base URL.
fn ws_base(node: &str) -> String {
    node.replacen("http://", "ws://", 1)
        .replacen("https://", "wss://", 1)
}

fn ws_url(node: &str, room: i64) -> String {
    format!("{}/ws/chat/{room}", ws_base(node))
}

/// Opens every member of every room (spread over the nodes) and waits until all joined.
/// Acks in the rooms of `groups` are counted apart, per group.
async fn connect_all(
    common: &Common,
    rooms: &[RoomPlan],
    sends: bool,
    spread_sources: bool,
    groups: &HashMap<i64, RoomGroup>,
) -> Result<Running, BenchError> {
    let control = Arc::new(Control::default());
    let stats = SharedStats::default();
    let pool = Pool::new(common.threads, &control, &stats);
    let started = Instant::now();
    let mut id = 0;
    for room in rooms {
        for member in &room.members {
            let node = &common.nodes[id % common.nodes.len()];
            // The first connections let `connect` pick the port; binding a source address
            // makes the kernel search for a port free for *every* destination, a search that
            // grew with each open connection until it took the load tool's whole CPU.
            let source = (spread_sources && id >= PER_SOURCE)
                .then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (id / PER_SOURCE) as u8)));
            let plan = Plan {
                url: ws_url(node, room.room_id),
                token: member.token.clone(),
                sends,
                size: common.message_size,
                join_only: false,
                source,
                group: groups.get(&room.room_id).copied().unwrap_or_default(),
            };
            pool.launch(id, plan).await;
            id += 1;
            pace(started, id, common.connect_rate).await;
        }
    }
    let connections = id;
    wait_joined(&stats, connections, Duration::from_secs(300)).await?;
    Ok(Running {
        pool,
        control,
        stats,
        connections,
        connect_secs: started.elapsed().as_secs_f64(),
    })
}

/// Sleeps so that `launched` connections take at least `launched / rate` seconds.
async fn pace(started: Instant, launched: usize, rate: f64) {
    if rate > 0.0 && launched.is_multiple_of(16) {
        tokio::time::sleep_until(started + Duration::from_secs_f64(launched as f64 / rate)).await;
    }
}

async fn wait_joined(
    stats: &SharedStats,
    expected: usize,
    limit: Duration,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + limit;
    loop {
        let (joined, failed) = {
            let stats = stats.lock();
            (stats.connected as usize, stats.connect_failures as usize)
        };
        if joined + failed >= expected {
            if failed > 0 {
                eprintln!("warning: {failed} of {expected} connections failed");
                for (reason, count) in &stats.lock().connect_errors {
                    eprintln!("  {count} x {reason}");
                }
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Run(format!(
                "only {joined} of {expected} connections joined"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stop(running: Running) -> Stats {
    running.control.stop();
    let stats = running.stats.clone();
    running.pool.finish().await;
    stats.snapshot()
}

/// Stops sending and waits until in-flight acks and deliveries have landed (nothing changed
/// for two seconds, at most a minute) before losses are counted.
async fn drain(control: &Control, stats: &SharedStats) {
    control.set_interval_micros(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (u64::MAX, u64::MAX);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = {
            let stats = stats.lock();
            (stats.acked, stats.delivered)
        };
        if now == last {
            return;
        }
        last = now;
    }
}

fn per_sec(count: u64, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// `steady`: every connection sends one message every `interval`, for `duration`.
pub async fn steady(
    common: &Common,
    name: &str,
    rooms: usize,
    admins: usize,
    interval: Duration,
    duration: Duration,
) -> Result<Report, BenchError> {
    let plans = prepare(&common.nodes[0], &common.signer, rooms, admins, 0).await?;
    let rss_before = common.pid.and_then(rss_bytes);
    let running = connect_all(common, &plans, true, false, &HashMap::new()).await?;
    let rss_after = common.pid.and_then(rss_bytes);
    running.stats.reset_latencies();
    let before = running.stats.snapshot();
    running
        .control
        .set_interval_micros(interval.as_micros().max(1) as u64);
    let window = Instant::now();
    tokio::time::sleep(duration).await;
    let during = running.stats.snapshot();
    let window_secs = window.elapsed().as_secs_f64();
    drain(&running.control, &running.stats).await;
    let (connections, connect_secs) = (running.connections, running.connect_secs);
    let stats = stop(running).await;
    let mut report = Report::new(name, &common.nodes, rooms, admins + 1, &stats);
    report.window_secs = window_secs;
    report.acks_per_sec = per_sec(during.acked - before.acked, window_secs);
    report.deliveries_per_sec = per_sec(during.delivered - before.delivered, window_secs);
    report.connect_secs = connect_secs;
    report.connects_per_sec = per_sec(connections as u64, connect_secs);
    report.rss_before_bytes = rss_before;
    report.rss_after_bytes = rss_after;
    Ok(report)
}

/// Shape of an `uploads` run.
pub struct UploadShape {
    /// Rooms with steady traffic (one client and one admin each).
    pub rooms: usize,
    /// Each connection sends one message every this long.
    pub interval: Duration,
    /// Concurrent uploads, each into a room of its own (not one of `rooms`).
    pub uploads: usize,
    /// Bytes per uploaded file.
    pub file_bytes: u64,
    /// Each upload's pace (a client's upstream), bytes per second; `None`: unthrottled.
    pub bytes_per_sec: Option<f64>,
}

/// `uploads`: steady traffic over `rooms` while `uploads` files are uploaded at once into
/// other rooms; reports the traffic's latency while the uploads ran and the server's memory.
pub async fn uploads(common: &Common, shape: &UploadShape) -> Result<Report, BenchError> {
    let base = &common.nodes[0];
    let plans = prepare(base, &common.signer, shape.rooms, 1, 0).await?;
    let upload_rooms = prepare(base, &common.signer, shape.uploads, 0, 0).await?;
    let running = connect_all(common, &plans, true, false, &HashMap::new()).await?;
    running
        .control
        .set_interval_micros(shape.interval.as_micros().max(1) as u64);
    // Let the traffic settle, measure it alone for a while, then while the uploads run.
    tokio::time::sleep(Duration::from_secs(5)).await;
    running.stats.reset_latencies();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let alone = Percentiles::of(&running.stats.snapshot().delivery_latency);
    running.stats.reset_latencies();
    let before = running.stats.snapshot();
    let window = Instant::now();
    let mut upload_run = crate::uploads::run(
        base,
        &upload_rooms,
        shape.file_bytes,
        shape.bytes_per_sec,
        common.pid,
    )
    .await;
    let during = running.stats.snapshot();
    upload_run.traffic_before = Some(alone);
    upload_run.traffic_during = Some(Percentiles::of(&during.delivery_latency));
    let window_secs = window.elapsed().as_secs_f64();
    drain(&running.control, &running.stats).await;
    let (connections, connect_secs) = (running.connections, running.connect_secs);
    let stats = stop(running).await;
    let mut report = Report::new("uploads", &common.nodes, shape.rooms, 2, &stats);
    report.window_secs = window_secs;
    report.acks_per_sec = per_sec(during.acked - before.acked, window_secs);
    report.deliveries_per_sec = per_sec(during.delivered - before.delivered, window_secs);
    report.connect_secs = connect_secs;
    report.connects_per_sec = per_sec(connections as u64, connect_secs);
    report.uploads = Some(upload_run);
    Ok(report)
}

/// How `saturate` ramps.
#[derive(Clone, Copy)]
pub struct Ramp {
    /// First total rate, messages per second.
    pub start_rate: f64,
    /// Added at each step.
    pub step_rate: f64,
    /// Stop here even if it holds.
    pub max_rate: f64,
    /// How long each step lasts.
    pub step: Duration,
    /// A step holds while delivery p99 stays at or under this.
    pub p99_limit_ms: f64,
}

/// `saturate`: raises the total send rate step by step until delivery p99 passes the limit
/// or acks fall behind; reports the highest rate that held.
pub async fn saturate(
    common: &Common,
    name: &str,
    rooms: usize,
    admins: usize,
    ramp: &Ramp,
    webhook: Option<&Receiver>,
) -> Result<Report, BenchError> {
    let plans = prepare(&common.nodes[0], &common.signer, rooms, admins, 0).await?;
    let running = connect_all(common, &plans, true, false, &HashMap::new()).await?;
    let senders = running.connections as f64;
    let mut steps = Vec::new();
    let mut held_rate = None;
    let Ramp {
        start_rate,
        step_rate,
        max_rate,
        step,
        p99_limit_ms,
    } = *ramp;
    let mut rate = start_rate;
    while rate <= max_rate {
        running.stats.reset_latencies();
        if let Some(receiver) = webhook {
            receiver.reset();
        }
        let before = running.stats.snapshot();
        let interval = (senders / rate * 1_000_000.0).max(1.0) as u64;
        running.control.set_interval_micros(interval);
        let window = Instant::now();
        tokio::time::sleep(step).await;
        let after = running.stats.snapshot();
        let secs = window.elapsed().as_secs_f64();
        let result = Step {
            target_rate: rate,
            sent_per_sec: per_sec(after.sent - before.sent, secs),
            acks_per_sec: per_sec(after.acked - before.acked, secs),
            deliveries_per_sec: per_sec(after.delivered - before.delivered, secs),
            refused_per_sec: per_sec(after.overloaded - before.overloaded, secs),
            ack_latency: Percentiles::of(&after.ack_latency),
            delivery_latency: Percentiles::of(&after.delivery_latency),
            worst_delivery_ms_per_sec: after.worst_delivery_ms_per_sec(),
            webhook: webhook.map(Receiver::snapshot),
            held: false,
        };
        let held = result.delivery_latency.p99 <= p99_limit_ms && result.acks_per_sec >= 0.9 * rate;
        let lag = result.webhook.as_ref().map_or(String::new(), |stats| {
            format!(
                " webhooks {:.0}/s lag p99 {:.2} ms",
                per_sec(stats.received, secs),
                stats.lag.p99
            )
        });
        eprintln!(
            "rate {rate:.0}/s: acks {:.0}/s deliveries {:.0}/s delivery p99 {:.2} ms{lag} {}",
            result.acks_per_sec,
            result.deliveries_per_sec,
            result.delivery_latency.p99,
            if held { "held" } else { "did not hold" }
        );
        steps.push(Step { held, ..result });
        if !held {
            break;
        }
        held_rate = Some(rate);
        rate += step_rate;
    }
    drain(&running.control, &running.stats).await;
    let stats = stop(running).await;
    let mut report = Report::new(name, &common.nodes, rooms, admins + 1, &stats);
    if let Some(receiver) = webhook {
        report.webhook = Some(webhook_run(receiver, stats.acked).await);
    }
    if let Some(best) = steps.iter().rfind(|step| step.held) {
        report.acks_per_sec = best.acks_per_sec;
        report.deliveries_per_sec = best.deliveries_per_sec;
        report.ack_latency = best.ack_latency.clone();
        report.delivery_latency = best.delivery_latency.clone();
        report.window_secs = step.as_secs_f64();
    }
    report.steps = steps;
    report.held_rate = held_rate;
    Ok(report)
}

/// How long the load tool waits for the outbox to drain after the load stopped.
const WEBHOOK_DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// Waits for the events owed for `acked` messages, then sums the run up.
async fn webhook_run(receiver: &Receiver, acked: u64) -> WebhookRun {
    let expected = usize::try_from(acked).unwrap_or(usize::MAX);
    let drained = receiver.drained(expected, WEBHOOK_DRAIN_LIMIT).await;
    WebhookRun {
        distinct_events: receiver.distinct(),
        expected_events: acked,
        drained_secs: drained.map(|took| took.as_secs_f64()),
        overall: receiver.total(),
    }
}

/// `idle`: opens `connections` authenticated connections that only listen; reports the
/// server's memory per connection.
pub async fn idle(common: &Common, connections: usize) -> Result<Report, BenchError> {
    let members = 2;
    let rooms = connections.div_ceil(members);
    let plans = prepare(&common.nodes[0], &common.signer, rooms, members - 1, 0).await?;
    let rss_before = common.pid.and_then(rss_bytes);
    let running = connect_all(common, &plans, false, true, &HashMap::new()).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = common.pid.and_then(rss_bytes);
    let (connected, connect_secs) = (running.connections, running.connect_secs);
    let stats = stop(running).await;
    let mut report = Report::new("idle", &common.nodes, rooms, members, &stats);
    report.connect_secs = connect_secs;
    report.connects_per_sec = per_sec(stats.connected, connect_secs);
    report.rss_before_bytes = rss_before;
    report.rss_after_bytes = rss_after;
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report.rss_per_connection_bytes =
            Some(after.saturating_sub(before) as f64 / connected.max(1) as f64);
    }
    Ok(report)
}

/// `storm`: `joins` connections that each join (ready + history of `history` messages) and
/// leave, as fast as the service takes them.
pub async fn storm(
    common: &Common,
    rooms: usize,
    joins: usize,
    history: usize,
) -> Result<Report, BenchError> {
    let plans = prepare(&common.nodes[0], &common.signer, rooms, 0, history).await?;
    let control = Arc::new(Control::default());
    let stats = SharedStats::default();
    let pool = Pool::new(common.threads, &control, &stats);
    let started = Instant::now();
    for id in 0..joins {
        let room = &plans[id % plans.len()];
        let node = &common.nodes[id % common.nodes.len()];
        let plan = Plan {
            url: ws_url(node, room.room_id),
            token: room.members[0].token.clone(),
            sends: false,
            size: common.message_size,
            join_only: true,
            // Thousands of short connections a second leave their ports in TIME_WAIT; on one
            // source address the kernel's search for a free port then cost the load tool
            // more CPU than the joins (`__inet_check_established` in its profile).
            source: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (id % 64) as u8))),
            group: RoomGroup::Plain,
        };
        pool.launch(id, plan).await;
        pace(started, id + 1, common.connect_rate).await;
    }
    wait_joined(&stats, joins, Duration::from_secs(300)).await?;
    let secs = started.elapsed().as_secs_f64();
    control.stop();
    pool.finish().await;
    let stats = stats.snapshot();
    let mut report = Report::new("storm", &common.nodes, rooms, 1, &stats);
    report.connections = joins;
    report.connect_secs = secs;
    report.connects_per_sec = per_sec(stats.connected, secs);
    Ok(report)
}

/// The shape of a `dashboard` run.
pub struct DashboardShape {
    /// Rooms, each with its customer connected and sending.
    pub rooms: usize,
    /// Dashboards: admins on `/ws/`, each following every room's inbox.
    pub admins: usize,
    /// Rooms each dashboard subscribes to (distinct rooms per dashboard).
    pub subscribed: usize,
    /// Messages per second, all customers together.
    pub rate: f64,
    pub duration: Duration,
}

/// `dashboard`: admins follow every room over the user stream (and subscribe to a few) while
/// the rooms' customers send. Reports how late the inbox shows a room's newest message, how
/// many inbox frames (and rooms in them) each admin gets, and the delivery of the subscribed
/// rooms next to that of as many rooms whose admin listens on the room socket.
pub async fn dashboard(common: &Common, shape: &DashboardShape) -> Result<Report, BenchError> {
    let DashboardShape {
        rooms,
        admins,
        subscribed,
        rate,
        duration,
    } = *shape;
    if admins * subscribed > rooms {
        return Err(BenchError::Config(format!(
            "{admins} admins x {subscribed} subscribed rooms need at least that many rooms"
        )));
    }
    let plans = prepare(&common.nodes[0], &common.signer, rooms, 0, 0).await?;
    let subscribed_rooms = admins * subscribed;
    // As many rooms again whose listening admin is on the room socket: the same run's
    // delivery without `/ws/`, to hold the subscribed rooms' delivery against.
    let control_rooms = &plans[subscribed_rooms..(2 * subscribed_rooms).min(rooms)];
    let mut groups: HashMap<i64, RoomGroup> = plans[..subscribed_rooms]
        .iter()
        .map(|room| (room.room_id, RoomGroup::Subscribed))
        .collect();
    groups.extend(
        control_rooms
            .iter()
            .map(|room| (room.room_id, RoomGroup::Control)),
    );
    let running = connect_all(common, &plans, true, false, &groups).await?;
    for admin in 0..admins {
        let node = &common.nodes[admin % common.nodes.len()];
        let plan = StreamPlan {
            url: stream_url(node),
            token: common
                .signer
                .token(&format!("bench-dashboard-{admin}"), "admin")?,
            subscribe: plans[admin * subscribed..(admin + 1) * subscribed]
                .iter()
                .map(|room| room.room_id)
                .collect(),
        };
        running
            .pool
            .launch_job(running.connections + admin, Job::Stream(plan))
            .await;
    }
    for (n, room) in control_rooms.iter().enumerate() {
        let plan = Plan {
            url: ws_url(&common.nodes[n % common.nodes.len()], room.room_id),
            token: common
                .signer
                .token(&format!("bench-control-{n}"), "admin")?,
            sends: false,
            size: common.message_size,
            join_only: false,
            source: None,
            group: RoomGroup::Plain,
        };
        running
            .pool
            .launch(running.connections + admins + n, plan)
            .await;
    }
    wait_joined(
        &running.stats,
        running.connections + admins + control_rooms.len(),
        Duration::from_secs(120),
    )
    .await?;
    running.stats.reset_latencies();
    let before = running.stats.snapshot();
    let interval = (rooms as f64 / rate * 1_000_000.0).max(1.0) as u64;
    running.control.set_interval_micros(interval);
    let window = Instant::now();
    tokio::time::sleep(duration).await;
    let during = running.stats.snapshot();
    let secs = window.elapsed().as_secs_f64();
    drain(&running.control, &running.stats).await;
    let stats = stop(running).await;
    let mut report = Report::new("dashboard", &common.nodes, rooms, 1, &stats);
    // Room-socket deliveries are the control rooms' only.
    report.expected = stats.control_acked;
    report.lost = report.expected.saturating_sub(stats.delivered);
    report.window_secs = secs;
    report.acks_per_sec = per_sec(during.acked - before.acked, secs);
    report.dashboard = Some(Dashboard {
        admins,
        subscribed_per_admin: subscribed,
        inbox_latency: Percentiles::of(&during.inbox_latency),
        inbox_frames_per_sec_per_admin: per_sec(during.inbox_frames - before.inbox_frames, secs)
            / admins.max(1) as f64,
        inbox_rooms_per_sec_per_admin: per_sec(during.inbox_rooms - before.inbox_rooms, secs)
            / admins.max(1) as f64,
        messages_per_sec: report.acks_per_sec,
        subscribed_delivery_latency: Percentiles::of(&during.stream_latency),
        subscribed_delivered: stats.stream_delivered,
        subscribed_expected: stats.watched_acked,
        control_rooms: control_rooms.len(),
        control_delivery_latency: Percentiles::of(&during.delivery_latency),
    });
    Ok(report)
}

fn stream_url(node: &str) -> String {
    format!("{}/ws/", ws_base(node))
}

/// Shape of a `search` run.
pub struct SearchShape {
    /// Rooms seeded with messages (one customer each).
    pub rooms: usize,
    /// Messages seeded into each.
    pub per_room: usize,
    /// Searches per second.
    pub rate: f64,
    pub duration: Duration,
    /// Rooms of the `steady` traffic that runs meanwhile (a client and an admin each).
    pub steady_rooms: usize,
    pub steady_interval: Duration,
    /// The pause between seeding and measuring.
    pub settle: Duration,
}

/// `search`: seeds `rooms × per_room` messages through the API, then searches at `rate`, as
/// customers and as an admin, while `steady` traffic runs over other rooms.
pub async fn search(common: &Common, shape: &SearchShape) -> Result<Report, BenchError> {
    let vocabulary = Vocabulary::new();
    let seeded_rooms = prepare(&common.nodes[0], &common.signer, shape.rooms, 0, 0).await?;
    let (seeded, sample) = seed(&common.nodes, &seeded_rooms, shape.per_room, &vocabulary).await;
    eprintln!(
        "search: seeded {} messages in {:.0} s ({:.0}/s, {} failed: {:?})",
        seeded.messages, seeded.secs, seeded.per_sec, seeded.failures, seeded.failure_reasons
    );
    if seeded.messages == 0 || sample.is_empty() {
        return Err(BenchError::Setup("no message could be seeded".to_owned()));
    }
    eprintln!("search: settling for {} s", shape.settle.as_secs());
    tokio::time::sleep(shape.settle).await;
    let steady_rooms = prepare(&common.nodes[0], &common.signer, shape.steady_rooms, 1, 0).await?;
    let running = connect_all(common, &steady_rooms, true, false, &HashMap::new()).await?;
    running.stats.reset_latencies();
    let before = running.stats.snapshot();
    running
        .control
        .set_interval_micros(shape.steady_interval.as_micros().max(1) as u64);
    let admin = common.signer.token("bench-search-admin", "admin")?;
    let window = Instant::now();
    let (searches, failures, mean_results, histograms) = measure(
        &common.nodes[0],
        &seeded_rooms,
        &admin,
        shape.rate,
        shape.duration,
        &vocabulary,
        &sample,
    )
    .await;
    let window_secs = window.elapsed().as_secs_f64();
    let during = running.stats.snapshot();
    drain(&running.control, &running.stats).await;
    let stats = stop(running).await;
    let mut report = Report::new("search", &common.nodes, shape.steady_rooms, 2, &stats);
    report.window_secs = window_secs;
    report.acks_per_sec = per_sec(during.acked - before.acked, window_secs);
    report.deliveries_per_sec = per_sec(during.delivered - before.delivered, window_secs);
    report.search = Some(histograms.into_run(
        seeded,
        shape.rooms,
        shape.rate,
        searches,
        failures,
        window_secs,
        mean_results,
    ));
    Ok(report)
}
