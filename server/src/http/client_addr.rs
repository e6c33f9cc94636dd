//! Who the client is, as an address: the TCP peer, or — when the peer is a proxy we trust
//! (`http.trusted_proxies`) — the address that proxy saw, from `X-Forwarded-For`.
//!
//! One layer works it out for every request and leaves a [`ClientAddr`] in its extensions;
//! rate limits and the audit trail read that, never `ConnectInfo` or the header themselves.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de};

/// The client's address as Stargate counts it (rate limits, audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Requests that reach a handler without the layer (none in the real router) count as
/// loopback, the address a request made inside the process would have.
impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::from([127, 0, 0, 1]))))
    }
}

/// The CIDR ranges whose peers may tell us the client's address (`http.trusted_proxies`).
/// Each entry is a range (`10.0.0.0/8`, `fd00::/8`) or one address (`192.0.2.7`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a CIDR range (such as 10.0.0.0/8) or an IP address")]
pub struct BadRange(String);

impl TrustedProxies {
    /// Parses ranges as written in the configuration.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadRange> {
        entries
            .iter()
            .map(|entry| parse_range(entry.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|range| range.contains(&addr))
    }

    /// The client behind `peer`: while the hop in hand is trusted, step one entry left in
    /// `X-Forwarded-For` (proxies append who they saw); the first untrusted hop is the
    /// client. Entries left of it are whatever the client sent and are never believed. A
    /// malformed entry where a hop is needed stops the walk at the last trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(addr) = parse_hop(hop) else {
                break;
            };
            client = addr;
            if !self.contains(addr) {
                break;
            }
        }
        client
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    /// A list of ranges; in the environment also one string, comma-separated.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            List(Vec<String>),
            One(String),
        }
        let entries = match Written::deserialize(deserializer)? {
            Written::List(list) => list,
            Written::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        Self::parse(&entries).map_err(de::Error::custom)
    }
}

fn parse_range(text: &str) -> Result<IpNet, BadRange> {
    let text = text.trim();
    text.parse::<IpNet>()
        .map(|range| range.trunc())
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| BadRange(text.to_owned()))
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4 peers of a dual-stack listener arrive as `::ffff:a.b.c.d`; count them as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The layer: puts the request's [`ClientAddr`] in its extensions.
pub async fn resolve_client(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let client = proxies.client(peer, request.headers());
    // The request's span (opened before this layer) names the client too.
    tracing::Span::current().record("client", tracing::field::display(client));
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn proxies(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(ranges).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(none.client(ip("10.0.0.5"), &headers), ip("10.0.0.5"));
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            trusted.client(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        // The client wrote a fake first entry; its real address was appended by the edge
        // proxy (192.0.2.7), which the internal one (10.1.2.3) forwarded.
        let headers = forwarded(&["1.2.3.4, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &headers), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = proxies(&["127.0.0.1/32"]);
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = proxies(&["10.0.0.0/8", "fd00::/8"]);
        let headers = forwarded(&["[2001:db8::1]:4711"]);
        assert_eq!(trusted.client(ip("fd00::1"), &headers), ip("2001:db8::1"));
        let headers = forwarded(&["203.0.113.9:80"]);
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.1"), &headers),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_proxy() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.9, not-an-address, 10.0.0.2"]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &headers), ip("10.0.0.2"));
    }

    #[test]
    fn ranges_and_single_addresses_parse_and_garbage_is_named() {
        let parsed = proxies(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "10.1.2.3/8"]);
        assert!(parsed.contains(ip("10.200.0.1")));
        assert!(parsed.contains(ip("192.0.2.7")));
        assert!(!parsed.contains(ip("192.0.2.8")));
        assert!(parsed.contains(ip("2001:db8::42")));
        let error = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(error.to_string().contains("10.0.0.0/33"), "{error}");
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }
}
