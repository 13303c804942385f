//! Limits and timings of WebSocket connections. Every one is configurable.

use room_chats_core::chat::HistoryRules;
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

    /// Whether a request with this `Origin` header, made to `own_host` (its `Host`, as the
    /// proxy in front forwards it), may connect. Requests without one (mobile apps, servers)
    /// are not browsers and pass; so does a page of the service's own origin, whatever the
    /// list says — a cross-site page cannot make a browser claim another site's origin.
    pub fn allows(&self, origin: Option<&str>, own_host: &str) -> bool {
        match (self, origin) {
            (_, None) | (Self::Any, _) => true,
            (Self::List(list), Some(origin)) => {
                list.iter().any(|allowed| allowed == origin) || same_origin(origin, own_host)
            }
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names `own_host` (`host[:port]`). The scheme is
/// not compared: behind a proxy that ends TLS the browser says `https` and the service sees
/// plain HTTP.
fn same_origin(origin: &str, own_host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let strip = |host: &str| {
        host.strip_suffix(default_port)
            .unwrap_or(host)
            .to_ascii_lowercase()
    };
    !own_host.is_empty() && strip(authority) == strip(own_host)
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
    /// How often the node compares its rooms with their stored timelines, catching up those
    /// the broker never brought (`realtime::sweep`).
    pub timeline_sweep: Duration,
}

impl RealtimeSettings {
    /// How much history a joining session may ask for.
    pub fn history_rules(&self) -> HistoryRules {
        HistoryRules {
            default: self.history_default,
            max: self.history_max,
        }
    }

    /// The defaults, defined once (the configuration flags use them too).
    pub const DEFAULT: Self = Self {
        max_frame_bytes: 64 * 1024,
        max_connections_per_user: 20,
        heartbeat: Duration::from_secs(15),
        client_timeout: Duration::from_secs(45),
        outbox: 512,
        history_default: room_chats_core::Limits::DEFAULT.default_page,
        history_max: room_chats_core::Limits::DEFAULT.max_page,
        typing_ttl: Duration::from_secs(5),
        allowed_origins: AllowedOrigins::List(Vec::new()),
        inbox_window: Duration::from_millis(200),
        max_subscriptions: 100,
        subscribes_per_sec: 10,
        timeline_sweep: Duration::from_secs(5),
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
        let host = "chat.example";
        let allowed = parse("https://shop.example, http://localhost:5173/");
        assert!(allowed.allows(Some("https://shop.example"), host));
        assert!(allowed.allows(Some("http://localhost:5173"), host));
        assert!(!allowed.allows(Some("https://evil.example"), host));
        assert!(!allowed.allows(Some("https://shop.example.evil.example"), host));
        assert!(
            allowed.allows(None, host),
            "non-browser clients send no Origin"
        );
        assert!(parse("*").allows(Some("https://anything.example"), host));
        assert!(!parse("").allows(Some("https://shop.example"), host));
        assert!(AllowedOrigins::parse("shop.example").is_err());
        assert!(AllowedOrigins::parse("https://shop.example/app").is_err());
        assert!(AllowedOrigins::parse("ftp://shop.example").is_err());
    }

    #[test]
    fn the_services_own_origin_is_always_allowed() {
        let none = AllowedOrigins::List(Vec::new());
        assert!(none.allows(Some("http://127.0.0.1:8000"), "127.0.0.1:8000"));
        assert!(none.allows(Some("https://chat.example"), "chat.example"));
        assert!(none.allows(Some("https://Chat.Example:443"), "chat.example"));
        assert!(none.allows(Some("http://chat.example"), "chat.example:80"));
        assert!(!none.allows(Some("http://127.0.0.1:8001"), "127.0.0.1:8000"));
        assert!(!none.allows(Some("https://chat.example.evil.example"), "chat.example"));
        assert!(!none.allows(Some("https://evil.example"), "chat.example"));
        assert!(!none.allows(Some("null"), "chat.example"));
        assert!(!none.allows(Some("https://chat.example"), ""));
    }
}
