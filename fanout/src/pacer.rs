//! Keeps one bot's sends under Telegram's limits. Sends are spaced evenly a little under the
//! bot's 30 a second, so no one-second window ever holds more than Telegram allows however the
//! sends bunch up behind a pause; a chat gets at most one message per `chat_gap`; a 429 pauses
//! the whole bot for its `retry_after`, slots booked before it included.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    interval: Duration,
    chat_gap: Duration,
    state: Mutex<State>,
}

struct State {
    next_slot: Instant,
    /// The end of the last 429's `retry_after`.
    paused_until: Instant,
    /// Earliest next send per chat.
    chats: HashMap<i64, Instant>,
}

/// Chats remembered before the pacer forgets those whose gap has passed.
const CHATS_KEPT: usize = 50_000;

impl Pacer {
    pub fn new(per_second: f64, chat_gap: Duration) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.01)),
            chat_gap,
            state: Mutex::new(State {
                next_slot: Instant::now(),
                paused_until: Instant::now(),
                chats: HashMap::new(),
            }),
        }
    }

    /// Waits until a message may go to `chat`, and books that moment.
    pub async fn ready(&self, chat: i64) {
        loop {
            let (until, booked) = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match state.chats.get(&chat) {
                    // The chat had a message too recently: wait without holding a bot slot.
                    Some(free) if *free > now => (*free, false),
                    _ => {
                        let slot = state.next_slot.max(now);
                        state.next_slot = slot + self.interval;
                        if state.chats.len() >= CHATS_KEPT {
                            state.chats.retain(|_, free| *free > now);
                        }
                        state.chats.insert(chat, slot + self.chat_gap);
                        (slot, true)
                    }
                }
            };
            tokio::time::sleep_until(until).await;
            // A slot booked before a 429 came would fall inside its retry_after: book again.
            if booked && self.paused_until() <= until {
                return;
            }
        }
    }

    fn paused_until(&self) -> Instant {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.paused_until
    }

    /// Telegram said 429: no send from this bot for `wait`.
    pub fn pause(&self, wait: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + wait;
        state.next_slot = state.next_slot.max(until);
        state.paused_until = state.paused_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_per_bot_and_per_chat() {
        // given a pacer at 20 a second with one message a second per chat
        let pacer = std::sync::Arc::new(Pacer::new(20.0, Duration::from_secs(1)));
        let start = Instant::now();
        // when forty chats ask at once
        let mut tasks = Vec::new();
        for chat in 0..40 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.ready(chat).await;
                Instant::now() - start
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        // then they go 50 ms apart: the last after 1.95 s, never two in one slot
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[39], Duration::from_millis(1950));
        assert!(
            times
                .windows(2)
                .all(|w| w[1] - w[0] >= Duration::from_millis(50))
        );

        // and a second message to one chat waits out the chat's gap
        let before = Instant::now();
        pacer.ready(0).await;
        pacer.ready(0).await;
        assert!(Instant::now() - before >= Duration::from_secs(1));

        // and a 429 pauses the bot
        pacer.pause(Duration::from_secs(5));
        let before = Instant::now();
        pacer.ready(1000).await;
        assert!(Instant::now() - before >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_back_the_slots_booked_before_it() {
        // given ten sends waiting for slots booked over the next half second
        let pacer = std::sync::Arc::new(Pacer::new(20.0, Duration::ZERO));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for chat in 0..10 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.ready(chat).await;
                Instant::now() - start
            }));
        }
        tokio::task::yield_now().await;
        // when a 429 asks for 7 s after the first went out
        tokio::time::sleep(Duration::from_millis(10)).await;
        pacer.pause(Duration::from_secs(7));
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        // then nothing goes out inside the 7 s but the one before the 429
        assert_eq!(times[0], Duration::ZERO);
        assert!(
            times[1..]
                .iter()
                .all(|t| *t >= Duration::from_millis(7_010))
        );
    }
}
