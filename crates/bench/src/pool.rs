//! Worker threads, each with its own actix runtime, that drive connections.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::connection::{self, Control, Plan};
use crate::stats::SharedStats;
use crate::stream::{self, StreamPlan};

/// A simulated client: a room socket, or a dashboard's user stream.
pub enum Job {
    Room(Plan),
    Stream(StreamPlan),
}

/// Spreads room connections over `threads` runtimes, and dashboards over as many of their
/// own, so that reading their large inbox frames never holds up a room socket's frames (whose
/// latencies are measured when the tool reads them), nor one dashboard all the others.
pub struct Pool {
    /// The room runtimes', then the dashboards'.
    senders: Vec<mpsc::Sender<(usize, Job)>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(threads: usize, control: &Arc<Control>, stats: &SharedStats) -> Self {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..threads.max(1) * 2 {
            let (sender, mut plans) = mpsc::channel::<(usize, Job)>(1024);
            let control = Arc::clone(control);
            let stats = stats.clone();
            handles.push(std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let mut running = Vec::new();
                    while let Some((id, job)) = plans.recv().await {
                        let (control, stats) = (Arc::clone(&control), stats.clone());
                        running.push(match job {
                            Job::Room(plan) => {
                                actix_web::rt::spawn(connection::run(id, plan, control, stats))
                            }
                            Job::Stream(plan) => {
                                actix_web::rt::spawn(stream::run(plan, control, stats))
                            }
                        });
                    }
                    for connection in running {
                        let _ = connection.await;
                    }
                });
            }));
            senders.push(sender);
        }
        Self {
            senders,
            threads: handles,
        }
    }

    /// Starts room connection `id`.
    pub async fn launch(&self, id: usize, plan: Plan) {
        self.launch_job(id, Job::Room(plan)).await;
    }

    /// Starts client `id`.
    pub async fn launch_job(&self, id: usize, job: Job) {
        let half = self.senders.len() / 2;
        let runtime = match job {
            Job::Room(_) => id % half,
            Job::Stream(_) => half + id % half,
        };
        let _ = self.senders[runtime].send((id, job)).await;
    }

    /// Waits for every connection to end (after `Control::stop`).
    pub async fn finish(self) {
        drop(self.senders);
        for thread in self.threads {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}
