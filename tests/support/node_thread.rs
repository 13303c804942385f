//! Each test node runs on a thread and an actix System of its own, as a real node runs in a
//! process of its own. The test's runtime then cannot starve the node (a test may block its
//! thread on a database lock), and dropping the node ends every task it spawned — its hub,
//! workers and pools — so its database connections close at once, not when the test ends
//! (a test that starts a node per case would otherwise hold them all until its end).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use room_chats::{ServiceConfig, ServiceControl, start};
use tokio::sync::oneshot;

/// How long a dropped node may take to end its tasks before the test goes on without it.
const RELEASE_WITHIN: Duration = Duration::from_secs(10);

/// What a started node tells the test.
pub struct Started {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub control: ServiceControl,
}

/// The thread a node runs on; dropping it ends the node's System.
pub struct NodeThread {
    release: Option<oneshot::Sender<()>>,
    finished: mpsc::Receiver<()>,
}

/// Starts a node with `config` on a thread of its own; panics (fails the test) if it does not
/// start.
pub async fn start_node_thread(config: ServiceConfig) -> (Started, NodeThread) {
    let (started_tx, started) = oneshot::channel();
    let (release, released) = oneshot::channel::<()>();
    let (finished_tx, finished) = mpsc::channel();
    std::thread::Builder::new()
        .name("test-node".to_owned())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match start(config).await {
                    Ok(running) => {
                        actix_web::rt::spawn(running.server);
                        let _ = started_tx.send(Ok(Started {
                            addr: running.addr,
                            metrics_addr: running.metrics_addr,
                            control: running.control,
                        }));
                        // Until the test drops the node, or the test is gone.
                        let _ = released.await;
                    }
                    Err(error) => {
                        let _ = started_tx.send(Err(error.to_string()));
                    }
                }
            });
            let _ = finished_tx.send(());
        })
        .expect("a thread for the test node");
    let started = match started.await {
        Ok(Ok(started)) => started,
        Ok(Err(error)) => panic!("service starts: {error}"),
        Err(_) => panic!("the node's thread ended before the node started"),
    };
    let thread = NodeThread {
        release: Some(release),
        finished,
    };
    (started, thread)
}

impl Drop for NodeThread {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        // Bounded: a node stuck on a lock the test still holds must not hang the suite.
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.finished.recv_timeout(RELEASE_WITHIN) {
            eprintln!("a test node did not end within {RELEASE_WITHIN:?}; going on without it");
        }
    }
}
