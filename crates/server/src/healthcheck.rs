//! `room-chats healthcheck`: asks the local node whether it is alive (or ready), for the
//! container's `HEALTHCHECK` — the image has no curl. Plain HTTP/1.1 over a socket, with a
//! deadline: a hung node is an unhealthy one.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long the whole check may take.
const DEADLINE: Duration = Duration::from_secs(3);

/// What the check asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/healthz`: the process answers (restart it if not).
    Alive,
    /// `/readyz`: it can serve (its database and broker are up).
    Ready,
}

impl Probe {
    fn path(self) -> &'static str {
        match self {
            Self::Alive => "/healthz",
            Self::Ready => "/readyz",
        }
    }
}

/// Why the node is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum Unhealthy {
    /// No connection, or no answer in time.
    #[error("{0}: {1}")]
    Unreachable(SocketAddr, std::io::Error),
    /// An answer other than 200.
    #[error("{path} answered {status}")]
    Status {
        /// The path asked.
        path: &'static str,
        /// Its status line.
        status: String,
    },
}

/// Asks the node listening on `bind` (a wildcard address is asked on loopback).
pub fn check(bind: SocketAddr, probe: Probe) -> Result<(), Unhealthy> {
    let target = SocketAddr::new(loopback_for(bind.ip()), bind.port());
    let unreachable = |error| Unhealthy::Unreachable(target, error);
    let mut stream = TcpStream::connect_timeout(&target, DEADLINE).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(DEADLINE))
        .and_then(|()| stream.set_write_timeout(Some(DEADLINE)))
        .map_err(unreachable)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\nUser-Agent: room-chats-healthcheck\r\n\r\n",
        probe.path()
    );
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    // The status line is all that matters; the body is a few bytes of JSON.
    let mut answer = Vec::with_capacity(512);
    stream
        .take(4096)
        .read_to_end(&mut answer)
        .map_err(unreachable)?;
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(Unhealthy::Status {
            path: probe.path(),
            status: status_line,
        })
    }
}

/// `0.0.0.0` and `::` listen everywhere; loopback is one of the places.
fn loopback_for(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}
