//! Keeps webhook deliveries off the service's own network (SSRF): an endpoint URL may not
//! name, or resolve to, a loopback, private, link-local or otherwise internal address unless
//! `WEBHOOK_ALLOW_PRIVATE_URLS` says so. Checked when an endpoint is saved (a clear 422) and
//! again on every connection, by the client's resolver, so a name that later resolves inward
//! (DNS rebinding) is refused too. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest endpoint URL.
pub const MAX_URL_CHARS: usize = 2_048;

/// Why an endpoint URL is refused; the text is shown to the admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    /// Not a URL.
    #[error("url is not a valid absolute URL")]
    Malformed,
    /// Too long.
    #[error("url is longer than {MAX_URL_CHARS} characters")]
    TooLong,
    /// Not http(s).
    #[error("url must use https:// or http://")]
    Scheme,
    /// Credentials would end up in logs and lists.
    #[error("url must not carry a user name or password; authenticate with the signature")]
    Credentials,
    /// A fragment is never sent.
    #[error("url must not have a #fragment")]
    Fragment,
    /// An internal address (or a name for one).
    #[error(
        "url points at a loopback, private or link-local address; set WEBHOOK_ALLOW_PRIVATE_URLS=true to allow it"
    )]
    Internal,
}

/// Checks an endpoint URL as saved.
pub fn check_endpoint_url(url: &str, allow_private: bool) -> Result<Url, UrlRefusal> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefusal::TooLong);
    }
    let parsed = Url::parse(url).map_err(|_| UrlRefusal::Malformed)?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(UrlRefusal::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    if parsed.fragment().is_some() {
        return Err(UrlRefusal::Fragment);
    }
    if !allow_private && names_internal_host(&parsed) {
        return Err(UrlRefusal::Internal);
    }
    Ok(parsed)
}

/// Whether the URL's host is an internal address, or a name that is one by definition.
pub fn names_internal_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => true,
    }
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, broadcast, multicast and
/// documentation ranges: nothing a public receiver lives at.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(ip),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [first, second, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || first == 0
        // 100.64.0.0/10, carrier-grade NAT.
        || (first == 100 && (second & 0b1100_0000) == 64)
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
}

/// The webhook client's resolver: the system's, minus internal addresses unless allowed.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Let internal addresses through (`WEBHOOK_ALLOW_PRIVATE_URLS`).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| allow_private || !is_internal(addr.ip()))
                .collect();
            if found.is_empty() {
                let refusal = std::io::Error::other(format!(
                    "{host} resolves to no public address (internal addresses are refused)"
                ));
                return Err(refusal.into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/hook",
            "http://0.0.0.0/hook",
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://[fe80::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://localhost:9000/hook",
            "http://api.localhost/hook",
        ] {
            assert_eq!(
                check_endpoint_url(url, false).err(),
                Some(UrlRefusal::Internal),
                "{url}"
            );
            assert!(check_endpoint_url(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn public_urls_pass_and_bad_shapes_are_named() {
        assert!(check_endpoint_url("https://hooks.example.com/chat", false).is_ok());
        assert!(check_endpoint_url("https://93.184.216.34/chat", false).is_ok());
        assert_eq!(
            check_endpoint_url("ftp://example.com/x", false).err(),
            Some(UrlRefusal::Scheme)
        );
        assert_eq!(
            check_endpoint_url("https://user:pw@example.com/x", false).err(),
            Some(UrlRefusal::Credentials)
        );
        assert_eq!(
            check_endpoint_url("https://example.com/x#y", false).err(),
            Some(UrlRefusal::Fragment)
        );
        assert_eq!(
            check_endpoint_url("example.com/x", false).err(),
            Some(UrlRefusal::Malformed)
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(
            check_endpoint_url(&long, false).err(),
            Some(UrlRefusal::TooLong)
        );
    }
}
