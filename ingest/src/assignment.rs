//! Which account reads which channel: a pure function of the catalog, so whoever runs it (the
//! reader holding the ingest lease) publishes the same answer, and a restart changes nothing.
//!
//! A channel stays with its account while that account reads and has room (a move costs a
//! leave, a join and a catch-up). Channels without a live account — new, or left by an account
//! that was lost or became full — go to the live account with the fewest, up to each account's
//! room; what does not fit is unassigned. Then the loads are evened out (at most one apart), so
//! an account added later takes its share from the others.

use std::collections::BTreeMap;

use schemas::ChannelAssigned;

use crate::catalog::Catalog;

/// The assignments that make the catalog's match the rule above: empty when nothing changes.
pub fn rebalance(catalog: &Catalog) -> Vec<ChannelAssigned> {
    let mut holdings = holdings(catalog);
    let mut homeless = trim_to_room(catalog, &mut holdings);
    homeless.extend(
        catalog
            .channels
            .iter()
            .filter(|(_, channel)| channel.enabled)
            .map(|(key, _)| key.as_str())
            .filter(|key| {
                catalog
                    .assignments
                    .get(*key)
                    .is_none_or(|account| !holdings.contains_key(account.as_str()))
            }),
    );
    homeless.sort_unstable();
    let mut unassigned = Vec::new();
    for channel in homeless {
        match least_loaded_with_room(catalog, &holdings) {
            Some(account) => holdings.entry(account).or_default().push(channel),
            None => unassigned.push(channel),
        }
    }
    even_out(catalog, &mut holdings);
    changes(catalog, &holdings, &unassigned)
}

/// The enabled channels each live account reads now, by key order.
fn holdings(catalog: &Catalog) -> BTreeMap<&str, Vec<&str>> {
    let mut holdings: BTreeMap<&str, Vec<&str>> = catalog
        .accounts
        .iter()
        .filter(|(_, account)| account.is_live())
        .map(|(name, _)| (name.as_str(), Vec::new()))
        .collect();
    for (channel, account) in &catalog.assignments {
        let enabled = catalog.channels.get(channel).is_some_and(|c| c.enabled);
        if let (true, Some(held)) = (enabled, holdings.get_mut(account.as_str())) {
            held.push(channel.as_str());
        }
    }
    holdings
}

/// Takes from each account what exceeds its room: first the channel Telegram would not let it
/// join, then its last ones by key.
fn trim_to_room<'a>(
    catalog: &'a Catalog,
    holdings: &mut BTreeMap<&'a str, Vec<&'a str>>,
) -> Vec<&'a str> {
    let mut freed = Vec::new();
    for (name, held) in holdings.iter_mut() {
        let account = &catalog.accounts[*name];
        let room = account.room();
        if held.len() <= room {
            continue;
        }
        if let Some((_, refused)) = &account.full
            && let Some(at) = held.iter().position(|c| c == refused)
        {
            freed.push(held.remove(at));
        }
        while held.len() > room {
            freed.extend(held.pop());
        }
    }
    freed
}

fn least_loaded_with_room<'a>(
    catalog: &Catalog,
    holdings: &BTreeMap<&'a str, Vec<&'a str>>,
) -> Option<&'a str> {
    holdings
        .iter()
        .filter(|(name, held)| held.len() < catalog.accounts[**name].room())
        .min_by_key(|(name, held)| (held.len(), **name))
        .map(|(name, _)| *name)
}

/// Moves channels from the most loaded account to the least loaded one with room until no two
/// differ by more than one.
fn even_out<'a>(catalog: &Catalog, holdings: &mut BTreeMap<&'a str, Vec<&'a str>>) {
    while let Some(lightest) = least_loaded_with_room(catalog, holdings) {
        let Some((heaviest, held)) = holdings
            .iter()
            .max_by_key(|(name, held)| (held.len(), std::cmp::Reverse(**name)))
            .map(|(name, held)| (*name, held.len()))
        else {
            return;
        };
        if held <= holdings[lightest].len() + 1 {
            return;
        }
        let moved = holdings.get_mut(heaviest).and_then(Vec::pop);
        holdings.entry(lightest).or_default().extend(moved);
    }
}

fn changes(
    catalog: &Catalog,
    holdings: &BTreeMap<&str, Vec<&str>>,
    unassigned: &[&str],
) -> Vec<ChannelAssigned> {
    let mut changes = Vec::new();
    for (account, held) in holdings {
        for channel in held {
            if catalog.assignments.get(*channel).map(String::as_str) != Some(*account) {
                changes.push(ChannelAssigned {
                    channel: (*channel).to_owned(),
                    account: Some((*account).to_owned()),
                });
            }
        }
    }
    for channel in unassigned {
        let known =
            catalog.unassigned.contains(*channel) && !catalog.assignments.contains_key(*channel);
        if !known {
            changes.push(ChannelAssigned {
                channel: (*channel).to_owned(),
                account: None,
            });
        }
    }
    changes.sort_by(|a, b| a.channel.cmp(&b.channel));
    changes
}

#[cfg(test)]
mod tests {
    use schemas::{
        AccountLoss, ChannelConfigured, ChannelKind, Event, IngestAccountAdded, IngestAccountFull,
        IngestAccountLost,
    };

    use super::*;

    fn channels(count: i64) -> Vec<Event> {
        (1..=count)
            .map(|n| {
                Event::ChannelConfigured(ChannelConfigured {
                    chat_id: -1_000_000_000_000 - n,
                    username: None,
                    title: format!("channel {n}"),
                    kind: ChannelKind::Channel,
                    enabled: true,
                    admin_id: None,
                })
            })
            .collect()
    }

    fn added(account: &str, max_channels: u32) -> Event {
        Event::IngestAccountAdded(IngestAccountAdded {
            account: account.into(),
            max_channels,
        })
    }

    /// Applies rebalances until nothing changes, as the running reader would.
    fn settle(catalog: &mut Catalog) -> usize {
        let mut published = 0;
        for _ in 0..5 {
            let changes = rebalance(catalog);
            if changes.is_empty() {
                return published;
            }
            published += changes.len();
            for change in changes {
                catalog.apply(&Event::ChannelAssigned(change));
            }
        }
        panic!("rebalancing never settles");
    }

    fn loads(catalog: &Catalog) -> BTreeMap<String, usize> {
        let mut loads = BTreeMap::new();
        for account in catalog.assignments.values() {
            *loads.entry(account.clone()).or_default() += 1;
        }
        loads
    }

    #[test]
    fn channels_are_shared_evenly_and_what_does_not_fit_is_unassigned() {
        // given 900 channels and three accounts with room for 400 each
        let mut events = channels(900);
        events.extend([added("a", 400), added("b", 400), added("c", 400)]);
        let mut catalog = Catalog::from_events(&events);

        // then each reads 300, and a second look changes nothing
        settle(&mut catalog);
        assert_eq!(
            loads(&catalog).into_values().collect::<Vec<_>>(),
            [300, 300, 300]
        );
        assert!(rebalance(&catalog).is_empty());

        // when one is lost
        let before = catalog.assignments.clone();
        catalog.apply(&Event::IngestAccountLost(IngestAccountLost {
            account: "c".into(),
            reason: AccountLoss::Revoked,
            detail: "AUTH_KEY_UNREGISTERED".into(),
        }));
        let moved = settle(&mut catalog);

        // then only its channels move, up to the others' room, and 100 are unassigned
        assert_eq!(moved, 300);
        assert_eq!(
            loads(&catalog).into_values().collect::<Vec<_>>(),
            [400, 400]
        );
        assert_eq!(catalog.unassigned.len(), 100);
        for (channel, account) in &before {
            if account != "c" {
                assert_eq!(
                    catalog.assignments.get(channel),
                    Some(account),
                    "{channel} stayed"
                );
            }
        }

        // when it is signed in again
        catalog.apply(&added("c", 400));
        settle(&mut catalog);
        // then the unassigned go to it first, and the loads are even again
        assert_eq!(
            loads(&catalog).into_values().collect::<Vec<_>>(),
            [300, 300, 300]
        );
        assert!(catalog.unassigned.is_empty());
    }

    #[test]
    fn an_account_telegram_calls_full_keeps_what_it_follows_and_the_refused_channel_moves() {
        let mut events = channels(10);
        events.extend([added("a", 400), added("b", 400)]);
        let mut catalog = Catalog::from_events(&events);
        settle(&mut catalog);
        let refused = catalog
            .assignments
            .iter()
            .find(|(_, account)| *account == "a")
            .map(|(channel, _)| channel.clone())
            .unwrap();

        catalog.apply(&Event::IngestAccountFull(IngestAccountFull {
            account: "a".into(),
            channel: refused.clone(),
            following: 4,
        }));
        settle(&mut catalog);

        assert_eq!(catalog.assignments[&refused], "b");
        assert_eq!(loads(&catalog)["a"], 4);
        assert_eq!(loads(&catalog)["b"], 6);
    }

    #[test]
    fn disabled_and_removed_channels_take_no_room() {
        let mut events = channels(3);
        events.push(added("a", 2));
        let mut catalog = Catalog::from_events(&events);
        settle(&mut catalog);
        assert_eq!(catalog.unassigned.len(), 1);

        let Event::ChannelConfigured(mut first) = channels(1).remove(0) else {
            unreachable!()
        };
        first.enabled = false;
        catalog.apply(&Event::ChannelConfigured(first));
        settle(&mut catalog);

        let enabled: Vec<&String> = catalog
            .channels
            .iter()
            .filter(|(_, c)| c.enabled)
            .map(|(key, _)| key)
            .collect();
        assert!(
            enabled
                .iter()
                .all(|key| catalog.assignments.contains_key(*key))
        );
    }

    #[test]
    fn with_no_account_every_channel_is_unassigned_once() {
        let mut catalog = Catalog::from_events(&channels(3));
        assert_eq!(settle(&mut catalog), 3);
        assert!(rebalance(&catalog).is_empty());
    }
}
