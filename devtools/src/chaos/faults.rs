//! The chaos suite's scenarios: each a fault played on a run while it delivers, and the proof
//! that the fault hit (what the fakes served, the process ids killed, the leader's name).

use std::time::Duration;

use testkit::Fault;
use testkit::openai::Reply;

use super::world::{Kind, Nats, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scenario {
    /// `remotehunt all` SIGKILLed three times mid-stream, started again at once.
    KillAll,
    /// The nats-server SIGKILLed, down 5 s.
    KillNats,
    /// The DELIVERIES stream's leader of a three-node cluster SIGKILLed, down 3 s.
    KillNode,
    /// Postgres's postmaster SIGKILLed, down 3.5 s.
    KillPostgres,
    /// The Bot API answering 429 with `retry_after` on some sends.
    Bot429,
    /// The Bot API answering Telegram's JSON 500 and a proxy's HTML 502 for 40 sends.
    Bot5xx,
    /// Answers slower than usual, and three slower than the client waits (carried out).
    BotTimeouts,
    /// One subscriber blocks their bots mid-stream (403s).
    Bot403,
    /// The LLM hanging, answering 429 and junk, then coming back.
    LlmFaults,
    /// Two `remotehunt all` at once for the whole run.
    TwoCopies,
}

/// What a scenario did, to be checked once the run settled.
#[derive(Debug, Default)]
pub(super) struct Played {
    pub notes: Vec<String>,
    /// Faults the fake Bot API must have served.
    pub bot_faults: usize,
    /// Faulty answers the fake LLM must have served.
    pub llm_faults: usize,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::KillAll,
        Scenario::KillNats,
        Scenario::KillNode,
        Scenario::KillPostgres,
        Scenario::Bot429,
        Scenario::Bot5xx,
        Scenario::BotTimeouts,
        Scenario::Bot403,
        Scenario::LlmFaults,
        Scenario::TwoCopies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillAll => "kill-all",
            Scenario::KillNats => "kill-nats",
            Scenario::KillNode => "kill-node",
            Scenario::KillPostgres => "kill-postgres",
            Scenario::Bot429 => "bot-429",
            Scenario::Bot5xx => "bot-5xx",
            Scenario::BotTimeouts => "bot-timeouts",
            Scenario::Bot403 => "bot-403",
            Scenario::LlmFaults => "llm-faults",
            Scenario::TwoCopies => "two-copies",
        }
    }

    pub fn kind(self) -> Kind {
        let plain = Kind {
            copies: 1,
            ..Kind::default()
        };
        match self {
            Scenario::KillNode => Kind {
                cluster: true,
                ..plain
            },
            Scenario::KillPostgres => Kind {
                own_postgres: true,
                ..plain
            },
            Scenario::LlmFaults => Kind { llm: true, ..plain },
            Scenario::TwoCopies => Kind { copies: 2, ..plain },
            _ => plain,
        }
    }

    /// Sends in flight at a SIGKILL of the sender may be lost (claimed, never confirmed).
    pub fn kills_senders(self) -> bool {
        self == Scenario::KillAll
    }

    /// Sends to a user who blocked the bot are refused, not lost.
    pub fn blocks_a_user(self) -> bool {
        self == Scenario::Bot403
    }

    /// Plays the fault on `world`, which will deliver `expected` cards when left alone.
    pub async fn play(self, world: &mut World, expected: usize) -> anyhow::Result<Played> {
        let at = |share: f64| ((expected as f64 * share) as usize).max(1);
        let mut played = Played::default();
        match self {
            Scenario::KillAll => {
                for share in [0.2, 0.45, 0.7] {
                    world.wait_for_delivered(at(share)).await?;
                    let mut child = world.children.remove(0);
                    let pid = child.id();
                    // SIGKILL; an error means it had died already, and wait reaps it either way.
                    let _ = child.kill();
                    child.wait()?;
                    let restarted = world.spawn()?;
                    world.children.push(restarted);
                    let resumed = world.next_delivery().await?;
                    played.notes.push(format!(
                        "SIGKILL pid {pid} at {:.0}%, sends resumed after {:.1} s",
                        share * 100.0,
                        resumed.as_secs_f64()
                    ));
                }
            }
            Scenario::KillNats => {
                world.wait_for_delivered(at(0.4)).await?;
                let Nats::Single(server) = &mut world.nats else {
                    anyhow::bail!("kill-nats needs a single server");
                };
                let pid = server.pid();
                server.kill();
                tokio::time::sleep(Duration::from_secs(5)).await;
                server.restart()?;
                let resumed = world.next_delivery().await?;
                played.notes.push(format!(
                    "nats-server pid {pid} SIGKILLed, down 5 s; sends resumed {:.1} s after its restart",
                    resumed.as_secs_f64()
                ));
            }
            Scenario::KillNode => {
                world.wait_for_delivered(at(0.4)).await?;
                let mut stream = world.bus.jetstream().get_stream("DELIVERIES").await?;
                let leader = stream
                    .info()
                    .await?
                    .cluster
                    .as_ref()
                    .and_then(|c| c.leader.clone())
                    .unwrap_or_default();
                let Nats::Cluster(cluster) = &mut world.nats else {
                    anyhow::bail!("kill-node needs a cluster");
                };
                let node = cluster
                    .index_of(&leader)
                    .ok_or_else(|| anyhow::anyhow!("no node named {leader:?}"))?;
                let pid = cluster.kill(node).unwrap_or_default();
                let resumed = world.next_delivery().await?;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let Nats::Cluster(cluster) = &mut world.nats else {
                    unreachable!()
                };
                cluster.start_node(node)?;
                played.notes.push(format!(
                    "DELIVERIES leader {leader} (pid {pid}) SIGKILLed; sends resumed after {:.1} s",
                    resumed.as_secs_f64()
                ));
            }
            Scenario::KillPostgres => {
                world.wait_for_delivered(at(0.4)).await?;
                let postgres = world
                    .postgres
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("kill-postgres needs its own Postgres"))?;
                let pid = postgres.kill()?;
                tokio::time::sleep(Duration::from_millis(3_500)).await;
                postgres.start_after_kill()?;
                let resumed = world.next_delivery().await?;
                played.notes.push(format!(
                    "postmaster pid {pid} SIGKILLed, down 3.5 s; sends resumed {:.1} s after its restart",
                    resumed.as_secs_f64()
                ));
            }
            Scenario::Bot429 => {
                world.wait_for_delivered(at(0.2)).await?;
                let mut plan = Vec::new();
                for retry_after in [2, 1, 3] {
                    plan.extend(std::iter::repeat_n(None, 15));
                    plan.push(Some(Fault::TooManyRequests(retry_after)));
                }
                played.bot_faults = 3;
                world.fake.fail_next("sendMessage", plan);
                played
                    .notes
                    .push("three sends answered 429 (retry_after 2, 1, 3 s)".into());
            }
            Scenario::Bot5xx => {
                world.wait_for_delivered(at(0.2)).await?;
                let plan = (0..40).map(|n| {
                    Some(if n % 4 == 3 {
                        Fault::BadGatewayPage
                    } else {
                        Fault::InternalError
                    })
                });
                played.bot_faults = 40;
                world.fake.fail_next("sendMessage", plan);
                played
                    .notes
                    .push("40 sends in a row answered 500 (JSON) or 502 (HTML)".into());
            }
            Scenario::BotTimeouts => {
                world.wait_for_delivered(at(0.2)).await?;
                let too_late = fanout::telegram::CLIENT_TIMEOUT + Duration::from_secs(2);
                let mut plan: Vec<Option<Fault>> = (0..10)
                    .map(|_| Some(Fault::LateAnswer(Duration::from_secs(2))))
                    .collect();
                plan.extend([None, Some(Fault::LateAnswer(too_late))].repeat(3));
                played.bot_faults = 13;
                world.fake.fail_next("sendMessage", plan);
                played.notes.push(format!(
                    "10 answers 2 s late, 3 answers {} s late (after the client gave up; carried out)",
                    too_late.as_secs()
                ));
            }
            Scenario::Bot403 => {
                world.wait_for_delivered(at(0.3)).await?;
                let user = 50_000_000;
                for category in world.categories.clone() {
                    let _ = world
                        .fake
                        .block(&super::world::bot_username(&category), user);
                }
                played
                    .notes
                    .push(format!("user {user} blocked their bots at 30%"));
            }
            Scenario::LlmFaults => {
                let llm = world
                    .llm
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("llm-faults needs the fake LLM"))?;
                let faults = [
                    Reply::Hang,
                    Reply::Hang,
                    Reply::RateLimited {
                        retry_after_secs: 1,
                    },
                    Reply::RateLimited {
                        retry_after_secs: 1,
                    },
                    Reply::Garbage,
                    Reply::Answer("Затрудняюсь ответить".into()),
                    Reply::ServerError,
                    Reply::ServerError,
                ];
                played.llm_faults = faults.len();
                llm.queue(faults);
                played
                    .notes
                    .push("the LLM's first 8 answers: 2 hangs, 2 429s, junk twice, 2 500s".into());
            }
            Scenario::TwoCopies => {
                let pids: Vec<String> = world.children.iter().map(|c| c.id().to_string()).collect();
                played
                    .notes
                    .push(format!("two remotehunt all, pids {}", pids.join(" and ")));
            }
        }
        Ok(played)
    }
}
