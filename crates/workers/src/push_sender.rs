//! Sends the pushes notifications owe: leases due ones, encrypts each for its browser
//! (aes128gcm), signs with VAPID, posts it to the push service, records the outcome. Runs on
//! the webhook dispatcher's thread.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use room_chats_store::Database;
use room_chats_store::push::{self as store, PushJob, PushOutcome};
use tokio::sync::Notify;
use web_push_native::{Auth, WebPushBuilder};

use room_chats_core::metrics::Metrics;
use room_chats_core::push::{PushSettings, Vapid};
use room_chats_core::webhooks::RetrySchedule;
use room_chats_core::webhooks::schedule::jitter_unit;

/// Pushes leased per look.
const PER_LOOK: i64 = 100;
/// Pushes in flight at once.
const CONCURRENCY: usize = 16;
/// How long a node holds the pushes it leased.
const LEASE: Duration = Duration::from_secs(60);
/// How often the sender looks when nobody wakes it.
const POLL: Duration = Duration::from_secs(1);
/// Retries of a push the push service did not take (429, 5xx, no answer), within its TTL.
const RETRY: RetrySchedule = RetrySchedule {
    first_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(600),
    period: Duration::from_secs(12 * 3_600),
};

/// Runs the sender until the runtime stops. `wake` says a notification was just fired.
pub async fn run(
    db: Database,
    client: Client,
    settings: PushSettings,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let Some(vapid) = settings.vapid.clone() else {
        return;
    };
    loop {
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
        loop {
            match look(&db, &client, &vapid, &settings, &metrics).await {
                Ok(sent) if sent == PER_LOOK as usize => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "push sender: cannot lease pushes");
                    break;
                }
            }
        }
    }
}

/// Sends what is due; answers how many it leased.
async fn look(
    db: &Database,
    client: &Client,
    vapid: &Arc<Vapid>,
    settings: &PushSettings,
    metrics: &Metrics,
) -> Result<usize, room_chats_store::StoreError> {
    let lease_until = micros_from_now(LEASE);
    let jobs = db
        .run(move |conn| store::claim(conn, lease_until, PER_LOOK))
        .await?;
    let leased = jobs.len();
    if leased == 0 {
        return Ok(0);
    }
    let outcomes: Vec<(PushJob, PushOutcome)> = futures_util::stream::iter(jobs)
        .map(|job| async move {
            let (outcome, result) = send(client, vapid, settings, &job).await;
            Metrics::result(&metrics.push_deliveries, result);
            (job, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    db.run(move |conn| store::finish(conn, &outcomes)).await?;
    Ok(leased)
}

/// One attempt of one push, and its result for metrics (`delivered`, `failed` and retried,
/// `dead` after its retry period, `refused` by the push service, `gone`).
async fn send(
    client: &Client,
    vapid: &Vapid,
    settings: &PushSettings,
    job: &PushJob,
) -> (PushOutcome, &'static str) {
    let request = match build(vapid, settings, job) {
        Ok(request) => request,
        Err(error) => {
            // A subscription the service cannot encrypt for was refused when saved; one that
            // still fails is dropped rather than retried forever.
            tracing::warn!(subscription_id = job.subscription_id, %error, "push not built; subscription removed");
            return (PushOutcome::Gone, "gone");
        }
    };
    match client.execute(request).await {
        Ok(response) if response.status().is_success() => (PushOutcome::Done, "delivered"),
        Ok(response) if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::GONE) => {
            tracing::info!(
                subscription_id = job.subscription_id,
                "push subscription expired; removed"
            );
            (PushOutcome::Gone, "gone")
        }
        Ok(response)
            if response.status() == StatusCode::TOO_MANY_REQUESTS
                || response.status().is_server_error() =>
        {
            retry(
                job,
                &format!("the push service answered {}", response.status()),
            )
        }
        Ok(response) => {
            // 400, 401, 403 (VAPID key changed), 413: sending it again would not help.
            tracing::warn!(
                subscription_id = job.subscription_id,
                status = response.status().as_u16(),
                "push refused by the push service; dropped"
            );
            (PushOutcome::Done, "refused")
        }
        Err(error) => retry(job, &format!("push service unreachable: {error}")),
    }
}

/// Tries again later, unless the push is older than its retry period.
fn retry(job: &PushJob, why: &str) -> (PushOutcome, &'static str) {
    let age = Duration::from_micros(
        u64::try_from(chrono::Utc::now().timestamp_micros() - job.created_at).unwrap_or(0),
    );
    if RETRY.exhausted(age) {
        tracing::warn!(subscription_id = job.subscription_id, why, "push given up");
        return (PushOutcome::Done, "dead");
    }
    tracing::info!(
        subscription_id = job.subscription_id,
        why,
        "push will be retried"
    );
    let outcome = PushOutcome::Retry {
        at: micros_from_now(RETRY.delay(job.attempts + 1, jitter_unit())),
    };
    (outcome, "failed")
}

/// The encrypted, signed request of a push, with `Urgency` and a `Topic` per room (a newer
/// notification of the room replaces one the browser has not fetched yet).
fn build(
    vapid: &Vapid,
    settings: &PushSettings,
    job: &PushJob,
) -> Result<reqwest::Request, String> {
    let uri = job
        .endpoint
        .parse::<http::Uri>()
        .map_err(|error| format!("endpoint: {error}"))?;
    let p256dh = URL_SAFE_NO_PAD
        .decode(job.p256dh.trim_end_matches('='))
        .map_err(|error| format!("p256dh: {error}"))?;
    let public = web_push_native::p256::PublicKey::from_sec1_bytes(&p256dh)
        .map_err(|error| format!("p256dh: {error}"))?;
    let auth = URL_SAFE_NO_PAD
        .decode(job.auth.trim_end_matches('='))
        .map_err(|error| format!("auth: {error}"))?;
    let auth: [u8; 16] = auth
        .try_into()
        .map_err(|_| "auth is not 16 bytes".to_owned())?;
    let auth = Auth::from(auth);
    let mut request = WebPushBuilder::new(uri, public, auth)
        .with_valid_duration(settings.ttl)
        .with_vapid(&vapid.key_pair, &vapid.subject)
        .build(job.payload.clone())
        .map_err(|error| error.to_string())?;
    let headers = request.headers_mut();
    headers.insert("urgency", http::HeaderValue::from_static("normal"));
    if let Ok(topic) = http::HeaderValue::from_str(&format!("room{}", job.room_id)) {
        headers.insert("topic", topic);
    }
    reqwest::Request::try_from(request).map_err(|error| error.to_string())
}

fn micros_from_now(after: Duration) -> i64 {
    chrono::Utc::now().timestamp_micros() + i64::try_from(after.as_micros()).unwrap_or(i64::MAX / 2)
}
