//! The `export` scenario (issue 29): one customer with `rooms × per_room` messages and `files`
//! files, seeded through the API; then an export of their data is asked for as the platform
//! and timed until it is ready, the archive downloaded (counted, never held) and the server's
//! resident memory sampled all along — the archive must never sit in it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, stream};
use serde_json::json;

use crate::BenchError;
use crate::report::{ExportRun, Report};
use crate::rss::rss_bytes;
use crate::scenarios::Common;
use crate::setup::request;
use crate::stats::Stats;

/// What to seed.
pub struct ExportShape {
    pub rooms: usize,
    pub per_room: usize,
    pub files: usize,
    pub file_bytes: u64,
}

/// Seeds, exports, downloads.
pub async fn run(common: &Common, shape: &ExportShape) -> Result<Report, BenchError> {
    let base = &common.nodes[0];
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(300))
        .finish();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let customer = format!("bench-{run}-exporter");
    let service = common.signer.token("bench-platform", "service")?;
    let token = common.signer.token(&customer, "client")?;
    let seeding = Instant::now();

    let mut rooms = Vec::with_capacity(shape.rooms);
    for index in 0..shape.rooms {
        let order = format!("bench-{run}-export-{index}");
        let url = format!("{base}/orders/{order}");
        request(
            &client,
            "PUT",
            &url,
            &service,
            Some(json!({ "customer_id": customer })),
        )
        .await?;
        let url = format!("{base}/chat/order/{order}/chat");
        let room = request(&client, "POST", &url, &token, None).await?;
        rooms.push(
            room["id"]
                .as_i64()
                .ok_or_else(|| setup(format!("no room in {room}")))?,
        );
    }
    let sends = rooms.iter().flat_map(|room| {
        (0..shape.per_room).map(move |n| (*room, format!("message {n} of a long conversation")))
    });
    let failures = stream::iter(sends)
        .map(|(room, text)| {
            let url = format!("{base}/chat/{room}/messages");
            let (client, token) = (&client, &token);
            async move {
                request(
                    client,
                    "POST",
                    &url,
                    token,
                    Some(json!({ "content": text })),
                )
                .await
            }
        })
        .buffer_unordered(64)
        .filter(|sent| std::future::ready(sent.is_err()))
        .count()
        .await;
    if failures > 0 {
        return Err(setup(format!("{failures} messages were not stored")));
    }
    for index in 0..shape.files {
        let room = rooms[index % rooms.len()];
        let stored = crate::uploads::upload_one(
            format!("{base}/chat/{room}/attachments?filename=file-{index}.png"),
            token.clone(),
            shape.file_bytes,
            None,
        )
        .await
        .map_err(setup)?;
        let url = format!("{base}/chat/{room}/messages");
        let body = json!({ "attachment_ids": [stored.1["id"]] });
        request(&client, "POST", &url, &token, Some(body)).await?;
    }
    let seed_secs = seeding.elapsed().as_secs_f64();
    eprintln!(
        "export: seeded {} messages and {} files in {seed_secs:.1}s",
        shape.rooms * shape.per_room,
        shape.files
    );

    let rss_before = common.pid.and_then(rss_bytes);
    let mut rss_peak = rss_before;
    let started = Instant::now();
    let url = format!("{base}/users/{customer}/exports");
    let export = request(&client, "POST", &url, &service, None).await?;
    let id = export["id"].clone();
    let ready = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rss_peak = rss_peak.max(common.pid.and_then(rss_bytes));
        let export = request(
            &client,
            "GET",
            &format!("{base}/exports/{id}"),
            &service,
            None,
        )
        .await?;
        match export["status"].as_str() {
            Some("ready") => break export,
            Some("failed") => return Err(BenchError::Run(format!("export failed: {export}"))),
            _ if started.elapsed() > Duration::from_secs(600) => {
                return Err(BenchError::Run("export not ready in 10 minutes".to_owned()));
            }
            _ => {}
        }
    };
    let export_secs = started.elapsed().as_secs_f64();
    let link = ready["download_url"]
        .as_str()
        .ok_or_else(|| BenchError::Run(format!("no link in {ready}")))?;
    let downloading = Instant::now();
    let mut response = client
        .get(format!("{base}{link}"))
        .send()
        .await
        .map_err(|error| BenchError::Run(format!("download: {error}")))?;
    let mut archive_bytes = 0_u64;
    while let Some(chunk) = response.next().await {
        let chunk = chunk.map_err(|error| BenchError::Run(format!("download: {error}")))?;
        archive_bytes += chunk.len() as u64;
        rss_peak = rss_peak.max(common.pid.and_then(rss_bytes));
    }
    let export_run = ExportRun {
        messages: shape.rooms * shape.per_room,
        files: shape.files,
        file_bytes: shape.file_bytes,
        seed_secs,
        export_secs,
        archive_bytes,
        download_secs: downloading.elapsed().as_secs_f64(),
        rss_before_bytes: rss_before,
        rss_peak_bytes: rss_peak,
    };
    let mut report = Report::new("export", &common.nodes, shape.rooms, 0, &Stats::default());
    report.export = Some(export_run);
    Ok(report)
}

fn setup(why: String) -> BenchError {
    BenchError::Setup(why)
}
