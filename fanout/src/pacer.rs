//! Keeps one bot's sends under Telegram's limits. Sends are booked slots spaced evenly a little
//! under the bot's 30 a second, and a chat gets at most one message per `chat_gap`; a 429
//! pauses the whole bot for its `retry_after`, slots booked before it included. A slot is booked
//! before the claim that precedes each send, and a claim can stall (a cluster electing a
//! leader), so the moment a request leaves is checked again: never more than the bot's rate in
//! any one-second window, never two to a chat closer than `chat_gap`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    interval: Duration,
    chat_gap: Duration,
    /// Requests that may leave within one second: as many as evenly spaced slots put in one
    /// (one more than the rate), so sends that kept their slots never wait here; under
    /// Telegram's 30 for any rate below 29.
    per_window: usize,
    state: Mutex<State>,
}

struct State {
    next_slot: Instant,
    /// The end of the last 429's `retry_after`.
    paused_until: Instant,
    /// Earliest next send per chat.
    chats: HashMap<i64, Instant>,
    /// When the requests of the last second left, oldest first.
    departures: VecDeque<Instant>,
    /// When the last request to each chat left.
    departed: HashMap<i64, Instant>,
}

/// The window Telegram counts a bot's messages in.
const WINDOW: Duration = Duration::from_secs(1);

/// Chats remembered before the pacer forgets those whose gap has passed.
const CHATS_KEPT: usize = 50_000;

impl Pacer {
    pub fn new(per_second: f64, chat_gap: Duration) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.01)),
            chat_gap,
            per_window: per_second.max(0.0).floor() as usize + 1,
            state: Mutex::new(State {
                next_slot: Instant::now(),
                paused_until: Instant::now(),
                chats: HashMap::new(),
                departures: VecDeque::new(),
                departed: HashMap::new(),
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

    /// Waits until a request to `chat` may leave now, and records that it left: called right
    /// before each request, after the slot [`Pacer::ready`] booked and whatever came between.
    pub async fn depart(&self, chat: i64) {
        loop {
            let until = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while state
                    .departures
                    .front()
                    .is_some_and(|left| now.duration_since(*left) >= WINDOW)
                {
                    state.departures.pop_front();
                }
                let chat_free = state.departed.get(&chat).map(|left| *left + self.chat_gap);
                let window_free = (state.departures.len() >= self.per_window)
                    .then(|| state.departures.front().map(|oldest| *oldest + WINDOW))
                    .flatten();
                let paused = (state.paused_until > now).then_some(state.paused_until);
                match [chat_free, window_free, paused]
                    .into_iter()
                    .flatten()
                    .filter(|free| *free > now)
                    .max()
                {
                    Some(until) => until,
                    None => {
                        state.departures.push_back(now);
                        if state.departed.len() >= CHATS_KEPT {
                            let gap = self.chat_gap;
                            state
                                .departed
                                .retain(|_, left| now.duration_since(*left) < gap);
                        }
                        state.departed.insert(chat, now);
                        return;
                    }
                }
            };
            tokio::time::sleep_until(until).await;
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
    async fn requests_held_up_after_their_slots_still_leave_within_the_limits() {
        // given forty sends whose slots were booked 50 ms apart
        let pacer = std::sync::Arc::new(Pacer::new(20.0, Duration::from_secs(1)));
        let start = Instant::now();
        for chat in 0..40 {
            pacer.ready(chat % 39).await;
        }
        // when their claims all stalled until 3 s and they leave together
        tokio::time::sleep_until(start + Duration::from_secs(3)).await;
        let mut tasks = Vec::new();
        for chat in 0..40 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.depart(chat % 39).await;
                (chat % 39, Instant::now())
            }));
        }
        let mut left = Vec::new();
        for task in tasks {
            left.push(task.await.unwrap());
        }
        left.sort_by_key(|(_, at)| *at);
        // then no second holds more than the twenty-one slots a second has room for
        for (i, (_, first)) in left.iter().enumerate() {
            let in_window = left[i..]
                .iter()
                .take_while(|(_, at)| *at < *first + WINDOW)
                .count();
            assert!(in_window <= 21, "{in_window} within a second");
        }
        // and the chat that had two waited its gap between them
        let to_zero: Vec<_> = left.iter().filter(|(chat, _)| *chat == 0).collect();
        assert_eq!(to_zero.len(), 2);
        assert!(to_zero[1].1 - to_zero[0].1 >= Duration::from_secs(1));
        // and the last left a second after the first
        assert!(left[39].1 - left[0].1 >= WINDOW);
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
