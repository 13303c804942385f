//! Concurrent attachment uploads for the `uploads` scenario: each streams a file chunk by
//! chunk (so the tool holds one chunk, not the file) while the room traffic runs, and the
//! server's resident memory is sampled throughout for its peak.

use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::rss::rss_bytes;
use crate::setup::RoomPlan;
use crate::stats::{Percentiles, histogram};

/// Bytes per chunk the uploaders send.
const CHUNK_BYTES: usize = 64 * 1024;

/// The first bytes of every uploaded file: a PNG signature, so the type check passes.
const PNG_HEAD: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// What the uploads measured.
#[derive(Debug, Clone, Serialize)]
pub struct UploadRun {
    /// Uploads started.
    pub started: usize,
    /// Uploads the service stored (201).
    pub stored: usize,
    /// Uploads refused or failed, with the first few reasons.
    pub failed: usize,
    pub failures: Vec<String>,
    /// Bytes per file.
    pub file_bytes: u64,
    /// From the first byte sent to the answer, per upload.
    pub duration_ms: Percentiles,
    /// All uploads' bytes over the time from the first start to the last answer.
    pub megabytes_per_sec: f64,
    /// Server memory before the uploads and the most it reached while they ran.
    pub rss_before_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    /// Each upload's pace in bytes per second (a client's upstream); `None`: as fast as the
    /// service takes it.
    pub bytes_per_sec: Option<f64>,
    /// Delivery latency of the room traffic over a window before the uploads, and while they
    /// ran.
    pub traffic_before: Option<Percentiles>,
    pub traffic_during: Option<Percentiles>,
}

/// Uploads one file of `file_bytes` into each of `plans`' rooms at the same time, as each
/// room's customer; samples the server's memory (`pid`) until all answered.
pub async fn run(
    base: &str,
    plans: &[RoomPlan],
    file_bytes: u64,
    bytes_per_sec: Option<f64>,
    pid: Option<u32>,
) -> UploadRun {
    let rss_before = pid.and_then(rss_bytes);
    let started_at = Instant::now();
    let uploads = plans.iter().filter_map(|plan| {
        let customer = plan.members.first()?;
        let url = format!(
            "{base}/chat/{}/attachments?filename=bench-{}.png",
            plan.room_id, plan.room_id
        );
        Some(upload_one(
            url,
            customer.token.clone(),
            file_bytes,
            bytes_per_sec,
        ))
    });
    let all = futures_util::future::join_all(uploads);
    tokio::pin!(all);
    let mut rss_peak = rss_before;
    let results = loop {
        tokio::select! {
            results = &mut all => break results,
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                let now = pid.and_then(rss_bytes);
                rss_peak = rss_peak.max(now);
            }
        }
    };
    let elapsed = started_at.elapsed().as_secs_f64();
    let mut durations = histogram();
    let mut failures = Vec::new();
    let mut stored = 0;
    for result in &results {
        match result {
            Ok((took, _)) => {
                stored += 1;
                // Microseconds, like every latency histogram of the tool.
                let _ = durations.record(took.as_micros().max(1) as u64);
            }
            Err(reason) => failures.push(reason.clone()),
        }
    }
    let failed = failures.len();
    failures.truncate(5);
    UploadRun {
        started: results.len(),
        stored,
        failed,
        failures,
        file_bytes,
        duration_ms: Percentiles::of(&durations),
        megabytes_per_sec: (stored as f64 * file_bytes as f64) / 1e6 / elapsed.max(1e-9),
        rss_before_bytes: rss_before,
        rss_peak_bytes: rss_peak,
        bytes_per_sec,
        traffic_before: None,
        traffic_during: None,
    }
}

/// Streams one file of `file_bytes` to `url`, at `bytes_per_sec` if given; answers how long
/// it took and the stored attachment, or why it failed.
pub(crate) async fn upload_one(
    url: String,
    token: String,
    file_bytes: u64,
    bytes_per_sec: Option<f64>,
) -> Result<(Duration, serde_json::Value), String> {
    let chunks = file_bytes.div_ceil(CHUNK_BYTES as u64);
    let paced_from = tokio::time::Instant::now();
    let body = stream::iter(0..chunks).then(move |index| async move {
        let sent = index * CHUNK_BYTES as u64;
        if let Some(rate) = bytes_per_sec {
            let due = Duration::from_secs_f64(sent as f64 / rate.max(1.0));
            tokio::time::sleep_until(paced_from + due).await;
        }
        let len = (file_bytes - sent).min(CHUNK_BYTES as u64) as usize;
        let mut chunk = vec![b'x'; len];
        if index == 0 {
            let head = PNG_HEAD.len().min(len);
            chunk[..head].copy_from_slice(&PNG_HEAD[..head]);
        }
        Ok::<_, std::io::Error>(Bytes::from(chunk))
    });
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(300))
        .finish();
    let started = Instant::now();
    let mut response = client
        .post(&url)
        .bearer_auth(&token)
        .content_type("image/png")
        .send_stream(body)
        .await
        .map_err(|error| format!("upload failed: {error}"))?;
    if response.status().as_u16() != 201 {
        return Err(format!("upload answered {}", response.status()));
    }
    let took = started.elapsed();
    let stored = response
        .json()
        .await
        .map_err(|error| format!("upload answer unreadable: {error}"))?;
    Ok((took, stored))
}
