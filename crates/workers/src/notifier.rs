//! The notifier: tells members who are away that they have unread messages.
//!
//! Messages schedule a burst per room in their own transaction
//! ([`room_chats_store::notifications`]). Once one is `NOTIFY_DELAY_SECS` old, the notifier
//! asks the broker whether each member of the room has a live connection that shows it — a
//! room socket on it, or a user stream, on any node — and fires it: a member who is connected,
//! muted the room or read the burst meanwhile is not notified; anyone else gets a
//! `notification.due` webhook and a Web Push.
//! When the broker cannot answer, the member counts as away: better one notification too many
//! than one lost.

use std::sync::Arc;
use std::time::Duration;

use room_chats_broker::Broker;
use room_chats_store::Database;
use room_chats_store::notifications::{self, Fired};

use crate::webhook_dispatcher::WebhookDispatch;

/// Most due notifications handled per look.
const PER_LOOK: i64 = 200;

/// When members who are away are notified (`NOTIFY_DELAY_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationSettings {
    /// How long a message stays unread, its member away, before they are notified.
    pub delay: Duration,
}

impl NotificationSettings {
    /// The defaults, defined once.
    pub const DEFAULT: Self = Self {
        delay: Duration::from_secs(30),
    };

    /// How often the notifier looks for due notifications: a quarter of the delay, between
    /// 50 ms and a second.
    fn poll(&self) -> Duration {
        (self.delay / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Starts the notifier on the current runtime (the one the broker's connections live on).
pub fn start(
    db: Database,
    broker: Arc<dyn Broker>,
    settings: NotificationSettings,
    webhooks: Arc<WebhookDispatch>,
) {
    tokio::task::spawn_local(async move {
        let mut full = false;
        loop {
            if !full {
                tokio::time::sleep(settings.poll()).await;
            }
            full = match look(&db, broker.as_ref(), settings, &webhooks).await {
                Ok(handled) => handled >= PER_LOOK as usize,
                Err(error) => {
                    tracing::warn!(%error, "notifier: cannot read due notifications");
                    false
                }
            };
        }
    });
}

/// Fires what is due; answers how many it looked at.
async fn look(
    db: &Database,
    broker: &dyn Broker,
    settings: NotificationSettings,
    webhooks: &WebhookDispatch,
) -> Result<usize, room_chats_store::StoreError> {
    let delay = i64::try_from(settings.delay.as_micros()).unwrap_or(i64::MAX / 2);
    let scheduled_by = chrono::Utc::now().timestamp_micros() - delay;
    let due = db
        .run(move |conn| notifications::due(conn, scheduled_by, PER_LOOK))
        .await?;
    let looked = due.len();
    if looked == 0 {
        return Ok(0);
    }
    let mut checked = Vec::with_capacity(looked);
    for burst in due {
        let mut members = Vec::with_capacity(burst.members.len());
        for member in &burst.members {
            members.push((
                member.clone(),
                connected(broker, burst.room_id, member).await,
            ));
        }
        checked.push((burst, members));
    }
    let fired = db
        .run(move |conn| notifications::fire_all(conn, &checked))
        .await?;
    let mut notified = 0_usize;
    for outcome in fired {
        match outcome {
            Fired::Notified(_) => notified += 1,
            Fired::Cancelled(why) => tracing::trace!(why, "notification not needed"),
            Fired::Taken => {}
        }
    }
    if notified > 0 {
        tracing::debug!(notified, "notifications due");
        webhooks.wake();
    }
    Ok(looked)
}

/// Whether `user` has a live connection that shows the room, on any node.
async fn connected(broker: &dyn Broker, room_id: i64, user: &str) -> bool {
    let in_room = broker.presence(room_id, user, 0).await;
    let streams = broker.streams(user, 0).await;
    match (in_room, streams) {
        (Ok(in_room), Ok(streams)) => in_room > 0 || streams > 0,
        (Ok(in_room), Err(_)) if in_room > 0 => true,
        (Err(_), Ok(streams)) if streams > 0 => true,
        _ => {
            tracing::debug!("broker cannot tell presence; notifying");
            false
        }
    }
}
