//! Keeps webhook deliveries and Web Push off the service's own network (SSRF): an endpoint URL
//! may not name, or resolve to, a loopback, private, link-local or otherwise internal address
//! (every special-purpose block that is not globally reachable, and IPv6 forms that carry an
//! internal IPv4 address: NAT64, IPv4-compatible, SIIT, 6to4) unless
//! `WEBHOOK_ALLOW_PRIVATE_URLS` says so. Checked when an endpoint is saved (a clear 422) and
//! again on every connection, by the client's resolver, so a name that later resolves inward
//! (DNS rebinding) is refused too. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest endpoint URL.
pub const MAX_URL_CHARS: usize = room_chats_types::rules::MAX_URL_CHARS;

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
        "url points at a loopback, private, link-local or other internal or reserved address; set WEBHOOK_ALLOW_PRIVATE_URLS=true to allow it"
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
            // A name of one label is looked up in the host's search domains: an intranet
            // name (`http://metadata`, `http://billing:8080`), never a public receiver.
            name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
        }
        None => true,
    }
}

/// Whether `ip` is not a public unicast address: a block of the IANA special-purpose
/// registries that is not globally reachable, or an IPv6 form that carries such an IPv4
/// address (mapped, compatible, SIIT, NAT64, 6to4). Nothing a public receiver lives at.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => is_internal_v6(ip),
    }
}

/// IPv4 blocks no public receiver lives in (RFC 6890 and its updates).
const INTERNAL_V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared (carrier-grade NAT)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local (cloud metadata)
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2.0/24 documentation
    (0xc058_6300, 24), // 192.88.99.0/24 6to4 relay anycast (deprecated)
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation
    (0xe000_0000, 4),  // 224.0.0.0/4 multicast
    (0xf000_0000, 4),  // 240.0.0.0/4 reserved, and 255.255.255.255 broadcast
];

/// IPv6 blocks no public receiver lives in, whatever follows the prefix.
const INTERNAL_V6: &[(u128, u8)] = &[
    (0, 96),                      // ::/96: unspecified, loopback, IPv4-compatible
    (0xffff << 48, 96),           // ::ffff:0:0:0/96 SIIT (::ffff:0:a.b.c.d)
    (0x0064_ff9b_0001 << 80, 48), // 64:ff9b:1::/48 local-use NAT64
    (0x0100 << 112, 64),          // 100::/64 discard-only
    (0x2001 << 112, 23),          // 2001::/23 IETF assignments (Teredo, ORCHID…)
    (0x2001_0db8 << 96, 32),      // 2001:db8::/32 documentation
    (0x3fff << 112, 20),          // 3fff::/20 documentation
    (0x5f00 << 112, 16),          // 5f00::/16 segment routing
    (0xfc00 << 112, 7),           // fc00::/7 unique local
    (0xfe80 << 112, 10),          // fe80::/10 link-local
    (0xfec0 << 112, 10),          // fec0::/10 site-local (deprecated)
    (0xff00 << 112, 8),           // ff00::/8 multicast
];

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    INTERNAL_V4
        .iter()
        .any(|&(prefix, len)| bits >> (32 - len) == prefix >> (32 - len))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    if INTERNAL_V6
        .iter()
        .any(|&(prefix, len)| bits >> (128 - len) == prefix >> (128 - len))
    {
        return true;
    }
    embedded_v4(bits).is_some_and(is_internal_v4)
}

/// The IPv4 address an IPv6 one carries by a translation or tunnelling convention whose
/// packets reach that IPv4 address: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`
/// (RFC 6052), and 6to4 `2002:aabb:ccdd::/48` (RFC 3056).
fn embedded_v4(bits: u128) -> Option<Ipv4Addr> {
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if bits >> 32 == 0xffff {
        return Some(low32);
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low32);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
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
            // IPv4 in IPv6 clothing: NAT64, compatible, SIIT, 6to4.
            "http://[64:ff9b::127.0.0.1]/hook",
            "http://[64:ff9b::a9fe:a9fe]/hook",
            "http://[64:ff9b::10.0.0.1]/hook",
            "http://[::127.0.0.1]/hook",
            "http://[::10.1.2.3]/hook",
            "http://[::ffff:0:127.0.0.1]/hook",
            "http://[::ffff:0:a00:1]/hook",
            "http://[2002:7f00:1::1]/hook",
            "http://[2002:a9fe:a9fe::]/hook",
            "http://[2002:c0a8:101::1]/hook",
            "http://[64:ff9b:1::1]/hook",
            // Teredo, documentation, discard, site-local, multicast.
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
            "http://[2001:db8::1]/hook",
            "http://[3fff::1]/hook",
            "http://[100::1]/hook",
            "http://[fec0::1]/hook",
            "http://[ff02::1]/hook",
            // IPv4 blocks beyond the private ones.
            "http://198.18.0.1/hook",
            "http://198.19.255.254/hook",
            "http://240.0.0.1/hook",
            "http://255.255.255.255/hook",
            "http://192.0.0.170/hook",
            "http://192.0.2.1/hook",
            "http://192.88.99.1/hook",
            "http://224.0.0.1/hook",
            "http://localhost:9000/hook",
            "http://api.localhost/hook",
            "http://metadata/computeMetadata/v1/",
            "https://ho/hook",
            "http://billing.:8080/hook",
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
        for public in [
            "https://[2606:4700::6810:84e5]/chat",
            "https://[64:ff9b::5db8:d822]/chat", // NAT64 of 93.184.216.34
            "https://[2002:5db8:d822::1]/chat",  // 6to4 of 93.184.216.34
            "https://198.20.0.1/chat",
            "https://100.128.0.1/chat",
            "https://172.32.0.1/chat",
        ] {
            assert!(check_endpoint_url(public, false).is_ok(), "{public}");
        }
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
