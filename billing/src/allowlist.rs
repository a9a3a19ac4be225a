//! The optional allowlist of networks YooKassa sends notifications from. Notifications are only
//! hints (every one is re-read from the API), so this is defence in depth: it keeps strangers
//! from making us call YooKassa at all.

use std::net::IpAddr;
use std::str::FromStr;

/// The networks YooKassa documents for its notifications.
pub const YOOKASSA_NETWORKS: &[&str] = &[
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?
        };
        Ok(Network { address, prefix })
    }
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Who may post notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist(Vec<Network>);

impl Allowlist {
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }
}

impl FromStr for Allowlist {
    type Err = String;

    /// `yookassa` for YooKassa's documented networks, or addresses and networks separated by
    /// commas (both may be mixed: `yookassa,10.0.0.0/8`).
    fn from_str(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "yookassa" {
                for network in YOOKASSA_NETWORKS {
                    networks.push(network.parse()?);
                }
            } else {
                networks.push(item.parse()?);
            }
        }
        if networks.is_empty() {
            return Err("an empty allowlist would refuse every notification".into());
        }
        Ok(Allowlist(networks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yookassa_networks_pass_and_others_do_not() {
        let list: Allowlist = "yookassa".parse().unwrap_or_else(|e| panic!("{e}"));
        for (ip, allowed) in [
            ("185.71.76.0", true),
            ("185.71.76.31", true),
            ("185.71.76.32", false),
            ("77.75.156.11", true),
            ("77.75.156.12", false),
            ("77.75.154.200", true),
            ("2a02:5180::1", true),
            ("2a02:5181::1", false),
            ("::ffff:185.71.77.5", true),
            ("127.0.0.1", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(list.allows(ip), allowed, "{ip}");
        }
    }

    #[test]
    fn own_networks_are_parsed_strictly() {
        let list: Allowlist = "yookassa, 10.0.0.0/8,127.0.0.1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(list.allows("10.9.8.7".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(list.allows("127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        for bad in [
            "",
            " , ",
            "10.0.0.0/33",
            "::/129",
            "example.com",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Allowlist>().is_err(), "{bad:?}");
        }
        let everything: Allowlist = "0.0.0.0/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(everything.allows("8.8.8.8".parse().unwrap_or_else(|e| panic!("{e}"))));
    }
}
