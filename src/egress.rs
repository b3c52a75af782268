//! The egress guard: which addresses a tenant's URL (a webhook, its check, a pending-message
//! callback) may reach. On by default, it refuses loopback, private, link-local, carrier-grade
//! NAT, multicast, unspecified, broadcast, reserved and cloud metadata addresses, so that a
//! tenant cannot make Hookrelay scan or call the network it runs in (SSRF).
//!
//! It applies twice: when a URL is given (an address literal or a `localhost` name, before any
//! connection), and when a connection is made ([`GuardedResolver`]: the name is resolved, every
//! address checked, and only the allowed addresses are connected to, so a name that resolves
//! differently later — DNS rebinding — does not get through). Redirects are never followed.
//! Operators opt out with `--allow-private-targets` or allow extra networks
//! (`--allow-target-cidrs`). AWS endpoints set by the operator are not tenant input and are not
//! guarded here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Loopback,
    Private,
    LinkLocal,
    Metadata,
    SharedAddressSpace,
    Multicast,
    Unspecified,
    Broadcast,
    Reserved,
}

impl Rule {
    fn describe(self) -> &'static str {
        match self {
            Rule::Loopback => "a loopback address",
            Rule::Private => "a private address",
            Rule::LinkLocal => "a link-local address",
            Rule::Metadata => "a cloud metadata address",
            Rule::SharedAddressSpace => "a carrier-grade NAT address",
            Rule::Multicast => "a multicast address",
            Rule::Unspecified => "an unspecified address",
            Rule::Broadcast => "a broadcast address",
            Rule::Reserved => "a reserved address",
        }
    }
}

/// A target the guard refused, naming the rule: `refused: 127.0.0.1 is a loopback address`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused: {target} is {}", rule.describe())]
pub struct Refused {
    /// The address (or `localhost` name) refused.
    pub target: String,
    pub rule: Rule,
}

/// The rule that refuses `ip`, if any.
pub fn classify(ip: IpAddr) -> Option<Rule> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<Rule> {
    let rule = if ip.is_unspecified() {
        Rule::Unspecified
    } else if ip.is_loopback() {
        Rule::Loopback
    } else if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        // AWS, GCP, Azure, OpenStack (169.254.169.254) and Alibaba (100.100.100.200)
        Rule::Metadata
    } else if ip.is_private() {
        Rule::Private
    } else if ip.is_link_local() {
        Rule::LinkLocal
    } else if in_v4(ip, [100, 64, 0, 0], 10) {
        Rule::SharedAddressSpace
    } else if ip.is_multicast() {
        Rule::Multicast
    } else if ip.is_broadcast() {
        Rule::Broadcast
    } else if in_v4(ip, [0, 0, 0, 0], 8)
        || in_v4(ip, [192, 0, 0, 0], 24)
        || in_v4(ip, [198, 18, 0, 0], 15)
        || in_v4(ip, [240, 0, 0, 0], 4)
    {
        Rule::Reserved
    } else {
        return None;
    };
    Some(rule)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Rule> {
    let s = ip.segments();
    // an IPv4 address written as IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64
    // 64:ff9b::a.b.c.d) is judged as that IPv4 address
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        ip.to_ipv4()
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return classify_v4(v4);
    }
    let rule = if ip.is_unspecified() {
        Rule::Unspecified
    } else if ip.is_loopback() {
        Rule::Loopback
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Rule::Metadata
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        // unique local (fc00::/7) and the old site-local (fec0::/10)
        Rule::Private
    } else if s[0] & 0xffc0 == 0xfe80 {
        Rule::LinkLocal
    } else if ip.is_multicast() {
        Rule::Multicast
    } else if s[0] == 0x2001 && s[1] == 0xdb8 || s[0] == 0x100 && s[1..4] == [0, 0, 0] {
        // documentation (2001:db8::/32) and discard-only (100::/64)
        Rule::Reserved
    } else {
        return None;
    };
    Some(rule)
}

/// Where tenant URLs may connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allow_private: bool,
    allowed: Vec<IpNet>,
}

/// The default policy: every refusing rule applies, no network is allowed besides.
pub static STRICT: EgressPolicy = EgressPolicy {
    allow_private: false,
    allowed: Vec::new(),
};

/// [`STRICT`].
pub fn strict() -> &'static EgressPolicy {
    &STRICT
}

impl EgressPolicy {
    /// `allow_private`: no address is refused. `allowed`: networks let through although a rule
    /// would refuse them.
    pub fn new(allow_private: bool, allowed: Vec<IpNet>) -> Self {
        Self {
            allow_private,
            allowed,
        }
    }

    /// True when nothing is refused (`--allow-private-targets`).
    pub fn allows_everything(&self) -> bool {
        self.allow_private
    }

    /// Refuses `ip` when a rule applies and no allowed network contains it.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.allow_private {
            return Ok(());
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match classify(ip) {
            Some(rule) if !self.allowed.iter().any(|net| net.contains(&ip)) => Err(Refused {
                target: ip.to_string(),
                rule,
            }),
            _ => Ok(()),
        }
    }

    /// Checks what can be checked without resolving: an address literal as host, or a
    /// `localhost` name. Other names are checked when connecting ([`GuardedResolver`]).
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let local = name == "localhost" || name.ends_with(".localhost");
                if local && !self.allow_private {
                    // RFC 6761: always the loopback interface
                    return self
                        .check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
                        .map_err(|_| Refused {
                            target: name,
                            rule: Rule::Loopback,
                        });
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The resolver that applies this policy when connecting.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver {
            policy: Arc::new(self.clone()),
        })
    }
}

/// True when `e`, or an error it was caused by, is a refusal of the guard.
pub fn refusal_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// A DNS resolver for the HTTP client that drops the addresses the policy refuses, and fails
/// (naming the rule) when none is left.
#[derive(Debug)]
pub struct GuardedResolver {
    policy: Arc<EgressPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refused.get_or_insert(r);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = match refused {
                    Some(r) => Box::new(r),
                    None => format!("{host} has no address").into(),
                };
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(ip: &str) -> Option<Rule> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn each_rule_and_public_addresses() {
        let cases = [
            ("127.0.0.1", Some(Rule::Loopback)),
            ("127.8.9.1", Some(Rule::Loopback)),
            ("::1", Some(Rule::Loopback)),
            ("10.1.2.3", Some(Rule::Private)),
            ("172.16.0.1", Some(Rule::Private)),
            ("172.31.255.255", Some(Rule::Private)),
            ("192.168.1.1", Some(Rule::Private)),
            ("fd12::1", Some(Rule::Private)),
            ("169.254.169.254", Some(Rule::Metadata)),
            ("fd00:ec2::254", Some(Rule::Metadata)),
            ("169.254.1.1", Some(Rule::LinkLocal)),
            ("fe80::1", Some(Rule::LinkLocal)),
            ("100.64.0.1", Some(Rule::SharedAddressSpace)),
            ("100.127.255.254", Some(Rule::SharedAddressSpace)),
            ("224.0.0.1", Some(Rule::Multicast)),
            ("ff02::1", Some(Rule::Multicast)),
            ("0.0.0.0", Some(Rule::Unspecified)),
            ("::", Some(Rule::Unspecified)),
            ("255.255.255.255", Some(Rule::Broadcast)),
            ("0.1.2.3", Some(Rule::Reserved)),
            ("240.0.0.1", Some(Rule::Reserved)),
            ("::ffff:127.0.0.1", Some(Rule::Loopback)),
            ("::ffff:10.0.0.1", Some(Rule::Private)),
            ("::10.0.0.1", Some(Rule::Private)),
            ("64:ff9b::a9fe:a9fe", Some(Rule::Metadata)),
            ("93.184.216.34", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("2606:4700::1111", None),
            ("::ffff:93.184.216.34", None),
        ];
        for (ip, want) in cases {
            assert_eq!(rule(ip), want, "{ip}");
        }
    }

    #[test]
    fn the_error_names_the_rule() {
        let e = strict().check_ip("127.0.0.1".parse().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "refused: 127.0.0.1 is a loopback address");
        let e = strict()
            .check_ip("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused: 169.254.169.254 is a cloud metadata address"
        );
    }

    #[test]
    fn urls_with_literals_and_localhost_names() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let p = strict();
        assert!(p.check_url(&url("http://127.0.0.1:5432/")).is_err());
        assert!(p.check_url(&url("http://[::1]/")).is_err());
        assert!(p.check_url(&url("http://[::ffff:7f00:1]/")).is_err());
        // the URL parser reads these as 127.0.0.1 too
        assert!(p.check_url(&url("http://2130706433/")).is_err());
        assert!(p.check_url(&url("http://0x7f.1/")).is_err());
        let e = p.check_url(&url("http://LocalHost./x")).unwrap_err();
        assert_eq!(e.to_string(), "refused: localhost is a loopback address");
        assert!(p.check_url(&url("http://api.localhost/")).is_err());
        assert!(p.check_url(&url("https://example.com/hook")).is_ok());
        assert!(p.check_url(&url("http://93.184.216.34/")).is_ok());
    }

    #[test]
    fn operators_can_allow_everything_or_some_networks() {
        let open = EgressPolicy::new(true, vec![]);
        assert!(open.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(open
            .check_url(&url::Url::parse("http://localhost/").unwrap())
            .is_ok());
        let some = EgressPolicy::new(false, vec!["10.1.0.0/16".parse().unwrap()]);
        assert!(some.check_ip("10.1.2.3".parse().unwrap()).is_ok());
        assert!(some.check_ip("10.2.0.1".parse().unwrap()).is_err());
        assert!(some.check_ip("::ffff:10.1.2.3".parse().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_refused_addresses() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = strict()
            .resolver()
            .resolve(name)
            .await
            .err()
            .expect("localhost refused");
        assert!(err.to_string().starts_with("refused: "), "{err}");
        assert!(err.to_string().ends_with("is a loopback address"), "{err}");
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let open = EgressPolicy::new(true, vec![]).resolver();
        let addrs: Vec<_> = open.resolve(name).await.expect("allowed").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[tokio::test]
    async fn a_guarded_client_never_connects_to_a_refused_name() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = reqwest::Client::builder()
            .dns_resolver(strict().resolver())
            .build()
            .unwrap();
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let refused = refusal_in(&err).expect("a refusal in the error chain");
        assert_eq!(refused.rule, Rule::Loopback);
        // nothing reached the listener
        let accepted =
            tokio::time::timeout(std::time::Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was made");
    }
}
