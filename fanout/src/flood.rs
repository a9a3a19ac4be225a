//! Flood control per chat (a user and one bot): a busy category must not ring a user's phone
//! for every card. The first [`Flood::loud`] cards of any minute in a chat are loud; the rest of
//! that minute's arrive silently (`disable_notification`). Every card is still sent, in order,
//! at the pacer's one a second per chat; nothing is merged or held back, so the buttons under
//! each card keep working.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);

/// Chats remembered before those quiet for a minute are forgotten.
const CHATS_KEPT: usize = 50_000;

pub struct Flood {
    loud: usize,
    /// Per chat, when its loud cards of the last minute went out.
    rang: HashMap<i64, VecDeque<Instant>>,
}

impl Flood {
    pub fn new(loud_per_minute: usize) -> Self {
        Self {
            loud: loud_per_minute,
            rang: HashMap::new(),
        }
    }

    /// Whether a card to `chat` at `now` may ring (and, if so, counts it).
    pub fn ring(&mut self, chat: i64, now: Instant) -> bool {
        if self.rang.len() >= CHATS_KEPT {
            self.rang.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < MINUTE)
            });
        }
        let times = self.rang.entry(chat).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            times.pop_front();
        }
        if times.len() >= self.loud {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cards_of_a_minute_ring_and_the_rest_are_silent() {
        // given five loud cards a minute
        let mut flood = Flood::new(5);
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        // when one chat gets a card a second for 8 seconds, and another chat one card
        let rang: Vec<bool> = (0..8).map(|s| flood.ring(1, at(s))).collect();
        // then the first five ring, the next three are silent, the other chat rings
        assert_eq!(rang, [true, true, true, true, true, false, false, false]);
        assert!(flood.ring(2, at(3)));
        // and a minute after the first loud card, one more may ring
        assert!(!flood.ring(1, at(59)));
        assert!(flood.ring(1, at(60)));
    }
}
