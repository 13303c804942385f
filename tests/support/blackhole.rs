//! A TCP proxy that can go silent: while cut, it forwards nothing in either direction and
//! holds every socket open — no reset, no FIN, no error on either side — as a network that
//! drops packets does (a cloud network's state flush, a stalled load balancer). Bytes that
//! arrive meanwhile are held and delivered after the heal, as TCP's retransmissions would.
//! Connections opened while cut wait, unanswered, until the heal.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// See the module docs.
pub struct Blackhole {
    pub addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    /// Proxies 127.0.0.1:<free port> to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (cut, _) = watch::channel(false);
        let cut = Arc::new(cut);
        let watching = Arc::clone(&cut);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cut = watching.subscribe();
                tokio::spawn(relay(client, upstream, cut));
            }
        });
        Self {
            addr,
            cut,
            accepting,
        }
    }

    /// A `redis://` URL through the proxy.
    pub fn redis_url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// From now on nothing passes.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Everything held passes, and so does what follows.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn until_open(cut: &mut watch::Receiver<bool>) {
    let _ = cut.wait_for(|cut| !*cut).await;
}

async fn relay(client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    until_open(&mut cut).await;
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(pass(client_read, server_write, cut.clone()));
    let down = tokio::spawn(pass(server_read, client_write, cut));
    let _ = tokio::join!(up, down);
}

/// Copies `from` to `to`, holding what it read while the proxy is cut.
async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut cut: watch::Receiver<bool>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        until_open(&mut cut).await;
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
