//! One module per read model: which tables it owns and how a batch of its stream's events
//! changes them. Upserts are guarded by `last_seq`, so applying an event twice changes nothing.

pub mod audit;
pub mod catalog;
pub mod classifications;
pub mod deliveries;
pub mod jobs;
pub mod messages;
pub mod notifications;
pub mod payments;
pub mod screening;
pub mod users;

use bus::Stored;

/// Splits a batch into maximal runs of consecutive events that `same` says belong together, so
/// high-volume events go to Postgres as one array statement per run while order is kept.
pub(crate) fn runs(
    batch: &[Stored],
    same: impl Fn(&Stored) -> bool + Copy,
) -> impl Iterator<Item = (bool, &[Stored])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= batch.len() {
            return None;
        }
        let kind = same(&batch[start]);
        let end = batch[start..]
            .iter()
            .position(|e| same(e) != kind)
            .map_or(batch.len(), |n| start + n);
        let run = &batch[start..end];
        start = end;
        Some((kind, run))
    })
}

/// Keeps the last event per key (an array upsert may not touch one row twice).
pub(crate) fn last_per_key<K: std::hash::Hash + Eq, T>(
    items: impl IntoIterator<Item = (K, T)>,
) -> Vec<T> {
    let mut index = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for (key, item) in items {
        match index.get(&key) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(key, out.len());
                out.push(item);
            }
        }
    }
    out
}

pub(crate) fn seq(stored: &Stored) -> i64 {
    stored.sequence as i64
}
