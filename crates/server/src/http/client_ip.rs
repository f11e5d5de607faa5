//! The client's address: the TCP peer, or, when the peer is a proxy the operator trusts
//! (`GATEHOUSE_TRUSTED_PROXIES`), the right-most `X-Forwarded-For` entry that is not one of
//! them. [`resolve`] computes it once per request into the [`ClientIp`] extension, which
//! every per-IP control (rate limits, brute-force protection, passwordless limits) and
//! every log event reads; [`ClientIp::key`] is what those controls count by.
//!
//! Only the right end of the header can be believed: each trusted proxy appends the address
//! it saw, so everything left of the first untrusted hop was written by the client and can
//! be anything. Without the setting the header is ignored, as anyone can send it. The
//! `Forwarded` header (RFC 7239) is not read; proxies send `X-Forwarded-For` as well.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// An address block, `192.0.2.0/24` or `2001:db8::/32`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ip` or `ip/prefix`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR block"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{text}`: the prefix must be 0 to {max}")),
            },
        };
        Ok(Cidr { network, prefix })
    }

    /// Whether `ip` is in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                mask(u128::from(n.to_bits()), self.prefix, 32)
                    == mask(u128::from(a.to_bits()), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                mask(n.to_bits(), self.prefix, 128) == mask(a.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `width`-bit address.
fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits >> (width - prefix)
    }
}

/// The proxies whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR blocks (empty: none).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// The client's address for this request, set by [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// What per-IP controls count by: an IPv4 address whole, an IPv6 address by its /64
    /// (one subscriber usually holds a whole /64, so each /128 would be a fresh key).
    pub fn key(&self) -> String {
        match self.0.to_canonical() {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => {
                let net = Ipv6Addr::from_bits(a.to_bits() & !((1u128 << 64) - 1));
                format!("{net}/64")
            }
        }
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:80`, `1.2.3.4:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client's address: walking `X-Forwarded-For` from the right while the hop is a trusted
/// proxy, starting from the TCP peer. An untrusted peer's header is ignored entirely; an
/// entry that is not an address stops the walk at the last trusted hop.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut current = peer.to_canonical();
    if !trusted.contains(current) {
        return current;
    }
    // Several header lines are one list, in order (RFC 9110 s5.3).
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.into_iter().rev() {
        let Some(hop) = parse_entry(entry) else {
            return current;
        };
        current = hop;
        if !trusted.contains(hop) {
            return hop;
        }
    }
    current
}

/// An address from Auth0's `auth0-forwarded-for` header (one address), if it holds one.
pub fn auth0_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("auth0-forwarded-for")?
        .to_str()
        .ok()
        .and_then(parse_entry)
}

/// The middleware: resolves [`ClientIp`] once, before anything that counts by address.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = client_address(peer, request.headers(), &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("10.0.0.0/8").expect("parses");
        assert!(c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1")));
        assert!(
            c.contains(ip("::ffff:10.9.9.9")),
            "IPv4-mapped counts as IPv4"
        );
        let one = Cidr::parse("192.0.2.7").expect("parses");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse("2001:db8::/32").expect("parses");
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("any")
                .contains(ip("8.8.8.8"))
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "host",
            "10.0.0.0/x",
            "10.0.0/8",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse(" ").expect("empty"),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.1, ::1,172.16.0.0/12").is_ok());
        assert!(TrustedProxies::parse("10.0.0.1,nope").is_err());
    }

    #[test]
    fn right_most_untrusted_entry() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").expect("parses");
        let lb = ip("10.0.0.5");
        // The client forged the left part; the load balancer appended the real address.
        let h = xff(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(client_address(lb, &h, &trusted), ip("203.0.113.9"));
        // Chains of trusted proxies are walked, across header lines.
        let h = xff(&["1.1.1.1, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(client_address(lb, &h, &trusted), ip("203.0.113.9"));
        // An untrusted peer's header is ignored entirely.
        assert_eq!(
            client_address(ip("198.51.100.1"), &xff(&["1.2.3.4"]), &trusted),
            ip("198.51.100.1")
        );
        // Without the setting the header is always ignored.
        assert_eq!(
            client_address(lb, &xff(&["1.2.3.4"]), &TrustedProxies::default()),
            lb
        );
        // No header, or only trusted hops: the left-most trusted address.
        assert_eq!(client_address(lb, &HeaderMap::new(), &trusted), lb);
        assert_eq!(
            client_address(lb, &xff(&["10.0.0.9"]), &trusted),
            ip("10.0.0.9")
        );
        // Garbage stops the walk at the last trusted hop; ports and mapped forms are read.
        assert_eq!(client_address(lb, &xff(&["1.2.3.4, junk"]), &trusted), lb);
        assert_eq!(
            client_address(lb, &xff(&["[2001:db8::1]:443"]), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(
                ip("::ffff:10.0.0.5"),
                &xff(&["::ffff:203.0.113.9"]),
                &trusted
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn keys_ipv6_by_64() {
        let key = |s: &str| ClientIp(ip(s)).key();
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::9")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::1"), "::/64");
    }
}
