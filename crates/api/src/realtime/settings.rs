//! Limits and timings of WebSocket connections. Every one is configurable.

use std::time::Duration;

/// Which browser origins may open WebSockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (only when configured as `*`).
    Any,
    /// Exactly these origins (`scheme://host[:port]`); empty refuses every browser.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Parses `ALLOWED_ORIGINS`: a comma-separated list of `scheme://host[:port]`, or `*`.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.trim() == "*" {
            return Ok(Self::Any);
        }
        let origins: Vec<String> = value
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        for origin in &origins {
            let uri: actix_web::http::Uri = origin
                .parse()
                .map_err(|_| format!("ALLOWED_ORIGINS: `{origin}` is not an origin"))?;
            let has_path = uri
                .path_and_query()
                .is_some_and(|path| path.as_str() != "/");
            if !matches!(uri.scheme_str(), Some("http" | "https"))
                || uri.host().is_none()
                || has_path
            {
                return Err(format!(
                    "ALLOWED_ORIGINS: `{origin}` must look like https://shop.example[:port]"
                ));
            }
        }
        Ok(Self::List(origins))
    }

    /// Whether a request with this `Origin` header may connect. Requests without one (mobile
    /// apps, servers) are not browsers and pass.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match (self, origin) {
            (_, None) | (Self::Any, _) => true,
            (Self::List(list), Some(origin)) => list.iter().any(|allowed| allowed == origin),
        }
    }
}

/// Settings of every WebSocket session.
#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    /// Largest accepted frame (and reassembled message), in bytes; larger closes with 1009.
    pub max_frame_bytes: usize,
    /// Most open connections of one user on one node.
    pub max_connections_per_user: usize,
    /// How often the server pings.
    pub heartbeat: Duration,
    /// A connection silent for this long is closed.
    pub client_timeout: Duration,
    /// Frames waiting for a slow client before it is disconnected.
    pub outbox: usize,
    /// `history` when the client asks for none.
    pub history_default: i64,
    /// Largest `history`.
    pub history_max: i64,
    /// `typing: true` expires after this long without a refresh.
    pub typing_ttl: Duration,
    /// Browser origins allowed to connect.
    pub allowed_origins: AllowedOrigins,
    /// How long the inbox gathers a room's changes before it tells the per-user streams.
    pub inbox_window: Duration,
    /// Most rooms one user stream may subscribe to at once.
    pub max_subscriptions: u32,
    /// Subscriptions one user stream may open per second (bursts up to `max_subscriptions`).
    pub subscribes_per_sec: u32,
}

impl RealtimeSettings {
    /// The defaults, defined once (the configuration flags use them too).
    pub const DEFAULT: Self = Self {
        max_frame_bytes: 64 * 1024,
        max_connections_per_user: 20,
        heartbeat: Duration::from_secs(15),
        client_timeout: Duration::from_secs(45),
        outbox: 512,
        history_default: crate::Limits::DEFAULT.default_page,
        history_max: crate::Limits::DEFAULT.max_page,
        typing_ttl: Duration::from_secs(5),
        allowed_origins: AllowedOrigins::List(Vec::new()),
        inbox_window: Duration::from_millis(200),
        max_subscriptions: 100,
        subscribes_per_sec: 10,
    };
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_match_exactly() {
        let parse =
            |value: &str| AllowedOrigins::parse(value).unwrap_or(AllowedOrigins::List(Vec::new()));
        let allowed = parse("https://shop.example, http://localhost:5173/");
        assert!(allowed.allows(Some("https://shop.example")));
        assert!(allowed.allows(Some("http://localhost:5173")));
        assert!(!allowed.allows(Some("https://evil.example")));
        assert!(!allowed.allows(Some("https://shop.example.evil.example")));
        assert!(allowed.allows(None), "non-browser clients send no Origin");
        assert!(parse("*").allows(Some("https://anything.example")));
        assert!(!parse("").allows(Some("https://shop.example")));
        assert!(AllowedOrigins::parse("shop.example").is_err());
        assert!(AllowedOrigins::parse("https://shop.example/app").is_err());
        assert!(AllowedOrigins::parse("ftp://shop.example").is_err());
    }
}
