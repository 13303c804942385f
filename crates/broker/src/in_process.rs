//! The in-process broker: the embedded default (one node), and several nodes in one process.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{BoxFuture, Broker, BrokerError, BrokerEvent, BrokerStats, RoomId, Topic};

/// The shared medium of in-process brokers: every node of the process attaches to one bus.
#[derive(Default)]
pub struct InProcessBus {
    state: Mutex<BusState>,
}

#[derive(Default)]
struct BusState {
    nodes: Vec<Attached>,
    presence: HashMap<(RoomId, String), i64>,
    online: HashMap<String, i64>,
    streams: HashMap<String, i64>,
}

struct Attached {
    topics: HashSet<Topic>,
    events: mpsc::Sender<BrokerEvent>,
}

impl InProcessBus {
    /// A new, empty bus.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Attaches a node; what other nodes publish to its rooms arrives on `events`.
    pub fn attach(self: &Arc<Self>, events: mpsc::Sender<BrokerEvent>) -> InProcessBroker {
        let mut state = self.lock();
        state.nodes.push(Attached {
            topics: HashSet::new(),
            events,
        });
        InProcessBroker {
            bus: Arc::clone(self),
            node: state.nodes.len() - 1,
            refused: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        // The state stays consistent under every panic point (plain inserts and removes).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One node's handle on an [`InProcessBus`].
pub struct InProcessBroker {
    bus: Arc<InProcessBus>,
    node: usize,
    /// Publications refused because a receiving node's queue was full.
    refused: AtomicU64,
}

impl Broker for InProcessBroker {
    fn publish(&self, topic: Topic, payload: Bytes) -> Result<(), BrokerError> {
        let state = self.bus.lock();
        let mut overloaded = false;
        for (index, node) in state.nodes.iter().enumerate() {
            if index == self.node || !node.topics.contains(&topic) {
                continue;
            }
            let event = BrokerEvent::Published {
                topic,
                payload: payload.clone(),
            };
            // A receiver that is gone is simply skipped, like a node that stopped.
            if let Err(mpsc::error::TrySendError::Full(_)) = node.events.try_send(event) {
                overloaded = true;
            }
        }
        if overloaded {
            self.refused.fetch_add(1, Ordering::AcqRel);
            return Err(BrokerError::Overloaded);
        }
        Ok(())
    }

    fn subscribe(&self, topic: Topic) {
        if let Some(node) = self.bus.lock().nodes.get_mut(self.node) {
            node.topics.insert(topic);
        }
    }

    fn unsubscribe(&self, topic: Topic) {
        if let Some(node) = self.bus.lock().nodes.get_mut(self.node) {
            node.topics.remove(&topic);
        }
    }

    fn presence(
        &self,
        room: RoomId,
        user: &str,
        delta: i64,
    ) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let mut state = self.bus.lock();
        let key = (room, user.to_owned());
        let count = state.presence.get(&key).copied().unwrap_or(0) + delta;
        if count <= 0 {
            state.presence.remove(&key);
        } else {
            state.presence.insert(key, count);
        }
        Box::pin(std::future::ready(Ok(count.max(0))))
    }

    fn online(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let mut state = self.bus.lock();
        let count = state.online.get(user).copied().unwrap_or(0) + delta;
        if count <= 0 {
            state.online.remove(user);
        } else {
            state.online.insert(user.to_owned(), count);
        }
        Box::pin(std::future::ready(Ok(count.max(0))))
    }

    fn streams(&self, user: &str, delta: i64) -> BoxFuture<'_, Result<i64, BrokerError>> {
        let mut state = self.bus.lock();
        let count = state.streams.get(user).copied().unwrap_or(0) + delta;
        if count <= 0 {
            state.streams.remove(user);
        } else {
            state.streams.insert(user.to_owned(), count);
        }
        Box::pin(std::future::ready(Ok(count.max(0))))
    }

    fn online_users(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        let users = self.bus.lock().online.keys().cloned().collect();
        Box::pin(std::future::ready(Ok(users)))
    }

    fn check(&self) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Publications are delivered synchronously: nothing waits to be flushed.
    fn close(&self, _limit: std::time::Duration) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Always connected; a full receiver is refused at `publish`, never lost later.
    fn stats(&self) -> BrokerStats {
        BrokerStats {
            connected: true,
            refused_publications: self.refused.load(Ordering::Acquire),
            lost_publications: 0,
            subscription_losses: 0,
        }
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publications_reach_other_subscribed_nodes_only() {
        let bus = InProcessBus::new();
        let (tx_a, mut rx_a) = mpsc::channel(8);
        let (tx_b, mut rx_b) = mpsc::channel(8);
        let (tx_c, mut rx_c) = mpsc::channel(8);
        let a = bus.attach(tx_a);
        let b = bus.attach(tx_b);
        let _c = bus.attach(tx_c);
        a.subscribe(Topic::Room(1));
        b.subscribe(Topic::Room(1));
        assert!(
            a.publish(Topic::Room(1), Bytes::from_static(b"hello"))
                .is_ok()
        );
        assert_eq!(
            rx_b.recv().await,
            Some(BrokerEvent::Published {
                topic: Topic::Room(1),
                payload: Bytes::from_static(b"hello")
            })
        );
        assert!(rx_a.try_recv().is_err(), "no echo to the publisher");
        assert!(rx_c.try_recv().is_err(), "not subscribed");
        b.unsubscribe(Topic::Room(1));
        assert!(
            a.publish(Topic::Room(1), Bytes::from_static(b"again"))
                .is_ok()
        );
        assert!(
            a.publish(Topic::Inbox, Bytes::from_static(b"inbox"))
                .is_ok()
        );
        assert!(rx_b.try_recv().is_err());
    }

    #[tokio::test]
    async fn presence_counts_across_nodes() {
        let bus = InProcessBus::new();
        let (tx_a, _rx_a) = mpsc::channel(1);
        let (tx_b, _rx_b) = mpsc::channel(1);
        let a = bus.attach(tx_a);
        let b = bus.attach(tx_b);
        assert_eq!(a.presence(7, "u", 1).await.ok(), Some(1));
        assert_eq!(b.presence(7, "u", 1).await.ok(), Some(2));
        assert_eq!(a.presence(7, "u", -1).await.ok(), Some(1));
        assert_eq!(b.presence(7, "u", -1).await.ok(), Some(0));
        assert_eq!(a.online("u", 1).await.ok(), Some(1));
        assert_eq!(b.online("u", 1).await.ok(), Some(2));
        assert_eq!(b.online_users().await.ok(), Some(vec!["u".to_owned()]));
        assert_eq!(a.online("u", -1).await.ok(), Some(1));
        assert_eq!(b.online("u", -1).await.ok(), Some(0));
        assert_eq!(a.online_users().await.ok(), Some(Vec::new()));
    }
}
