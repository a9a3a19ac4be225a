//! The main bot's callback data: every button it draws names one [`MenuAction`], encoded here
//! and parsed back here, strictly. Anything that does not parse (forged, from an older
//! version, cut) is refused by the bot without effect; what parses is still checked against the
//! read models (a category that exists, a plan on sale, a report, an admin).
//!
//! Toggles carry the state they set (`k1:design` turns design on, `k0:design` off), so a
//! doubled tap or a tap on a stale menu changes nothing the user did not ask for.

use crate::{Job, Resolution};

/// Telegram's limit on a button's callback data, in bytes.
pub const CALLBACK_DATA_LIMIT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuAction {
    /// The main menu.
    Menu,
    /// The category picker.
    Categories,
    /// Set one category on or off.
    Choose { slug: String, on: bool },
    /// «Моя подписка».
    Subscription,
    /// The help screen.
    Help,
    /// The time zones to choose from.
    Zones,
    /// Show times in this IANA zone.
    Zone(String),
    /// «Оплатить»: the plans.
    Plans,
    /// How to pay for this plan.
    Provider(String),
    /// Pay for this plan with YooKassa.
    YooKassa(String),
    /// Pay for this plan in Telegram Stars, once.
    Stars(String),
    /// Subscribe to this 30-day plan in Telegram Stars, renewed by Telegram.
    StarsSubscription(String),
    /// Let Telegram renew this Stars subscription (`on`) or not, named by its id.
    StarsRenewal { subscription_id: String, on: bool },
    /// Show a hidden author again, named by [`author_ref`] so any key fits.
    Unhide(String),
    /// An admin's verdict on a report.
    Verdict {
        report_id: String,
        resolution: Resolution,
    },
    /// An admin runs a scheduled job now.
    RunJob(Job),
}

impl MenuAction {
    pub fn encode(&self) -> String {
        match self {
            MenuAction::Menu => "m".to_owned(),
            MenuAction::Categories => "k".to_owned(),
            MenuAction::Choose { slug, on } => format!("k{}:{slug}", u8::from(*on)),
            MenuAction::Subscription => "s".to_owned(),
            MenuAction::Help => "h".to_owned(),
            MenuAction::Zones => "z".to_owned(),
            MenuAction::Zone(zone) => format!("z:{zone}"),
            MenuAction::Plans => "p".to_owned(),
            MenuAction::Provider(plan) => format!("p:{plan}"),
            MenuAction::YooKassa(plan) => format!("py:{plan}"),
            MenuAction::Stars(plan) => format!("ps:{plan}"),
            MenuAction::StarsSubscription(plan) => format!("pr:{plan}"),
            MenuAction::StarsRenewal {
                subscription_id,
                on,
            } => format!("sr{}:{subscription_id}", u8::from(*on)),
            MenuAction::Unhide(reference) => format!("u:{reference}"),
            MenuAction::Verdict {
                report_id,
                resolution,
            } => {
                let prefix = match resolution {
                    Resolution::Confirmed => "ra",
                    Resolution::Dismissed => "rd",
                };
                format!("{prefix}:{report_id}")
            }
            MenuAction::RunJob(job) => format!("j:{}", job.as_str()),
        }
    }

    /// The encoded data when it fits Telegram's limit.
    pub fn data(&self) -> Option<String> {
        Some(self.encode()).filter(|data| data.len() <= CALLBACK_DATA_LIMIT)
    }

    pub fn parse(data: &str) -> Option<Self> {
        if data.len() > CALLBACK_DATA_LIMIT {
            return None;
        }
        let action = match data {
            "m" => MenuAction::Menu,
            "k" => MenuAction::Categories,
            "s" => MenuAction::Subscription,
            "h" => MenuAction::Help,
            "z" => MenuAction::Zones,
            "p" => MenuAction::Plans,
            _ => {
                let (prefix, rest) = data.split_once(':')?;
                let name = || Some(rest.to_owned()).filter(|r| is_name(r));
                match prefix {
                    "k1" | "k0" => MenuAction::Choose {
                        slug: name()?,
                        on: prefix == "k1",
                    },
                    "z" => MenuAction::Zone(Some(rest.to_owned()).filter(|r| is_zone(r))?),
                    "p" => MenuAction::Provider(name()?),
                    "py" => MenuAction::YooKassa(name()?),
                    "ps" => MenuAction::Stars(name()?),
                    "pr" => MenuAction::StarsSubscription(name()?),
                    "sr1" | "sr0" => MenuAction::StarsRenewal {
                        subscription_id: name()?,
                        on: prefix == "sr1",
                    },
                    "u" => MenuAction::Unhide(name()?),
                    "ra" | "rd" if !rest.is_empty() => MenuAction::Verdict {
                        report_id: rest.to_owned(),
                        resolution: if prefix == "ra" {
                            Resolution::Confirmed
                        } else {
                            Resolution::Dismissed
                        },
                    },
                    "j" => MenuAction::RunJob(Job::parse(rest)?),
                    _ => return None,
                }
            }
        };
        Some(action)
    }
}

/// A slug, a plan or a reference: ASCII letters, digits, `-` and `_`, not empty.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An IANA zone name's shape (`Europe/Moscow`, `Asia/Ust-Nera`); the bot checks it is one.
fn is_zone(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'+'))
}

/// A short, stable reference to a hidden author's key, whatever its length: the first 16 bytes
/// of its SHA-1 name-based UUID, in hex. Not a secret (the key is not one either).
pub fn author_ref(author: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, author.as_bytes())
        .simple()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_action() -> Vec<MenuAction> {
        vec![
            MenuAction::Menu,
            MenuAction::Categories,
            MenuAction::Choose {
                slug: "design".into(),
                on: true,
            },
            MenuAction::Choose {
                slug: "3d-art".into(),
                on: false,
            },
            MenuAction::Subscription,
            MenuAction::Help,
            MenuAction::Zones,
            MenuAction::Zone("Asia/Yekaterinburg".into()),
            MenuAction::Plans,
            MenuAction::Provider("week".into()),
            MenuAction::YooKassa("week".into()),
            MenuAction::Stars("month".into()),
            MenuAction::StarsSubscription("month".into()),
            MenuAction::StarsRenewal {
                subscription_id: "st-0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
                on: false,
            },
            MenuAction::StarsRenewal {
                subscription_id: "st-0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
                on: true,
            },
            MenuAction::Unhide(author_ref(&"x".repeat(200))),
            MenuAction::Verdict {
                report_id: "501:-1001900000003:1022".into(),
                resolution: Resolution::Confirmed,
            },
            MenuAction::Verdict {
                report_id: "7:1:2".into(),
                resolution: Resolution::Dismissed,
            },
            MenuAction::RunJob(Job::AdminReport),
        ]
    }

    #[test]
    fn every_action_round_trips_within_telegrams_limit() {
        for action in every_action() {
            // given an action, when it is encoded, then it fits and parses back to itself
            let data = action
                .data()
                .unwrap_or_else(|| panic!("{action:?} too long"));
            assert_eq!(MenuAction::parse(&data), Some(action), "{data}");
        }
    }

    #[test]
    fn forged_and_overlong_data_is_refused() {
        let overlong = format!("k1:{}", "a".repeat(62));
        for forged in [
            "",
            "x",
            "m:",
            "k1:",
            "k2:design",
            "k1:de sign",
            "k1:de.sign",
            "p:week*",
            "u:",
            "sr:st-1",
            "sr2:st-1",
            "sr1:st-1.>",
            "ra:",
            "j:unknown",
            "z:Europe/Moscow;drop",
            overlong.as_str(),
            "c:design",
        ] {
            assert_eq!(MenuAction::parse(forged), None, "{forged:?}");
        }
    }

    #[test]
    fn author_refs_are_short_and_stable() {
        let long = "sig:".to_owned() + &"Очень длинная подпись автора ".repeat(5);
        assert!(long.len() > 62);
        assert_eq!(author_ref(&long), author_ref(&long));
        assert_ne!(author_ref(&long), author_ref("id:201"));
        assert_eq!(author_ref("id:201").len(), 32);
    }
}
