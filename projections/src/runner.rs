//! Running projectors: read a stream in order from the checkpoint, apply events in batches with
//! the checkpoint in the same transaction, dead-letter what cannot be decoded or applied, and
//! keep going. A Postgres advisory lock makes one process the writer of each projection; other
//! copies wait as hot standbys.

use std::time::Duration;

use bus::dead_letter::Origin;
use bus::{Bus, RawStored, Stored};
use futures::StreamExt;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::models;

/// A read model fed by one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    Catalog,
    Messages,
    Screening,
    Classifications,
    Users,
    Payments,
    Deliveries,
    Jobs,
    Notifications,
}

impl Projection {
    pub const ALL: [Projection; 9] = [
        Projection::Catalog,
        Projection::Messages,
        Projection::Screening,
        Projection::Classifications,
        Projection::Users,
        Projection::Payments,
        Projection::Deliveries,
        Projection::Jobs,
        Projection::Notifications,
    ];

    fn area(self) -> schemas::Area {
        use schemas::Area;
        match self {
            Projection::Catalog => Area::Catalog,
            Projection::Messages => Area::Messages,
            Projection::Screening => Area::Screening,
            Projection::Classifications => Area::Classifications,
            Projection::Users => Area::Users,
            Projection::Payments => Area::Payments,
            Projection::Deliveries => Area::Deliveries,
            Projection::Jobs => Area::Jobs,
            Projection::Notifications => Area::Notifications,
        }
    }

    /// The checkpoint name, also what `remotehunt projections rebuild NAME` takes.
    pub fn name(self) -> &'static str {
        self.area().as_str()
    }

    pub fn stream(self) -> &'static str {
        self.area().stream()
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The projection that reads `stream`: whom to wait for after publishing to it.
    pub fn for_stream(stream: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.stream() == stream)
    }

    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Catalog => models::catalog::TABLES,
            Projection::Messages => models::messages::TABLES,
            Projection::Screening => models::screening::TABLES,
            Projection::Classifications => models::classifications::TABLES,
            Projection::Users => models::users::TABLES,
            Projection::Payments => models::payments::TABLES,
            Projection::Deliveries => models::deliveries::TABLES,
            Projection::Jobs => models::jobs::TABLES,
            Projection::Notifications => models::notifications::TABLES,
        }
    }

    async fn apply(self, tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
        match self {
            Projection::Catalog => models::catalog::apply(tx, batch).await,
            Projection::Messages => models::messages::apply(tx, batch).await,
            Projection::Screening => models::screening::apply(tx, batch).await,
            Projection::Classifications => models::classifications::apply(tx, batch).await,
            Projection::Users => models::users::apply(tx, batch).await,
            Projection::Payments => models::payments::apply(tx, batch).await,
            Projection::Deliveries => models::deliveries::apply(tx, batch).await,
            Projection::Jobs => models::jobs::apply(tx, batch).await,
            Projection::Notifications => models::notifications::apply(tx, batch).await,
        }
    }

    /// Key of the advisory lock that makes one process this projection's writer.
    fn lock_key(self) -> i64 {
        0x5248_0000 + Self::ALL.iter().position(|p| *p == self).unwrap_or(0) as i64
    }

    fn consumer_name(self) -> String {
        format!("projection-{}", self.name())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// Events per transaction at most.
    pub batch_size: usize,
    pub projections: Vec<Projection>,
}

impl Config {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            batch_size: 2_000,
            projections: Projection::ALL.to_vec(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("bus: {0:#}")]
    Bus(#[from] anyhow::Error),
    #[error("reading the stream: {0}")]
    Read(#[from] bus::ReadError),
}

/// A decoded event, or one that failed to decode (to be dead-lettered in order).
enum Item {
    Event(Stored),
    Poison(RawStored, String),
}

impl Item {
    fn sequence(&self) -> u64 {
        match self {
            Item::Event(s) => s.sequence,
            Item::Poison(r, _) => r.sequence,
        }
    }
}

/// Runs every configured projection until `shutdown`: the `remotehunt projections` service.
pub async fn run(
    bus: Bus,
    pool: PgPool,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for projection in config.projections.clone() {
        let (bus, pool, config, shutdown) =
            (bus.clone(), pool.clone(), config.clone(), shutdown.clone());
        tasks.spawn(run_projection(bus, pool, projection, config, shutdown));
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

/// Tails one projection until `shutdown`, restarting after errors with a back-off.
pub async fn run_projection(
    bus: Bus,
    pool: PgPool,
    projection: Projection,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    const FIRST_BACKOFF: Duration = Duration::from_millis(200);
    const MAX_BACKOFF: Duration = Duration::from_secs(10);
    let mut backoff = FIRST_BACKOFF;
    while !shutdown.is_cancelled() {
        let started = tokio::time::Instant::now();
        match project(&bus, &pool, projection, &config, None, &shutdown).await {
            Ok(_) => break,
            Err(error) => {
                tracing::warn!(projection = projection.name(), %error, "projector failed; restarting");
            }
        }
        // A projector that ran a while since its last failure meets a new outage: it starts
        // over quickly rather than at the back-off an old one left.
        if started.elapsed() > MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    Ok(())
}

/// Applies everything the stream holds now, then returns the number of events applied.
pub async fn catch_up(
    bus: &Bus,
    pool: &PgPool,
    projection: Projection,
    config: &Config,
) -> Result<u64, ProjectorError> {
    let until = bus.last_sequence(projection.stream()).await?;
    project(
        bus,
        pool,
        projection,
        config,
        Some(until),
        &CancellationToken::new(),
    )
    .await
}

/// Empties the projection's tables and applies its stream from the first event.
pub async fn rebuild(
    bus: &Bus,
    pool: &PgPool,
    projection: Projection,
    config: &Config,
) -> Result<u64, ProjectorError> {
    {
        // A connection of its own: dropping it (on success or error) releases the lock.
        let mut lock = PgConnection::connect(&config.database_url).await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(projection.lock_key())
            .fetch_one(&mut lock)
            .await?;
        if !locked {
            tracing::warn!(
                projection = projection.name(),
                "waiting for the running projector to release the projection"
            );
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(projection.lock_key())
                .execute(&mut lock)
                .await?;
        }
        let mut tx = lock.begin().await?;
        sqlx::query(&format!("TRUNCATE {}", projection.tables().join(", ")))
            .execute(&mut *tx)
            .await?;
        models::audit::forget(&mut tx, projection.stream()).await?;
        sqlx::query("DELETE FROM projection_checkpoints WHERE projection = $1")
            .bind(projection.name())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lock.close().await?;
    }
    catch_up(bus, pool, projection, config).await
}

/// The projector loop. With `until`, stops once that sequence is applied.
async fn project(
    bus: &Bus,
    pool: &PgPool,
    projection: Projection,
    config: &Config,
    until: Option<u64>,
    shutdown: &CancellationToken,
) -> Result<u64, ProjectorError> {
    // The lock lives on its own connection for as long as this projector writes.
    let mut lock = PgConnection::connect(&config.database_url).await?;
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(projection.lock_key())
            .fetch_one(&mut lock)
            .await?;
        if locked {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(0),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    let start = crate::checkpoint(pool, projection.name()).await?;
    if until.is_some_and(|until| start >= until) {
        return Ok(0);
    }
    let (sender, mut batches) = mpsc::channel::<Vec<Item>>(4);
    let reader = tokio::spawn(read_batches(
        bus.clone(),
        projection,
        start + 1,
        config.batch_size,
        until,
        sender,
    ));
    let mut applied = 0;
    let result = loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => break Ok(applied),
            batch = batches.recv() => batch,
        };
        let Some(batch) = batch else {
            // The reader stopped: at `until`, or on an error it reports below.
            break Ok(applied);
        };
        let last = batch.last().map(Item::sequence).unwrap_or(0);
        applied += write_batch(bus, pool, projection, batch).await?;
        if until.is_some_and(|until| last >= until) {
            break Ok(applied);
        }
    };
    reader.abort();
    match reader.await {
        Ok(Err(error)) => Err(ProjectorError::Bus(error)),
        _ => result,
    }
}

/// Reads the stream and groups events into batches: full ones while there is a backlog, and at
/// once when caught up, so the tail has no added latency.
async fn read_batches(
    bus: Bus,
    projection: Projection,
    from: u64,
    batch_size: usize,
    until: Option<u64>,
    sender: mpsc::Sender<Vec<Item>>,
) -> anyhow::Result<()> {
    let messages = bus.read_stream(projection.stream(), from).await?;
    futures::pin_mut!(messages);
    let mut batch = Vec::with_capacity(batch_size);
    while let Some(message) = messages.next().await {
        let message = message?;
        let pending = message.pending;
        let sequence = message.sequence;
        batch.push(match message.decode() {
            Ok(stored) => Item::Event(stored),
            Err(error) => {
                let reason = format!("undecodable event: {error}");
                Item::Poison(message, reason)
            }
        });
        let at_end = until.is_some_and(|until| sequence >= until);
        if (batch.len() >= batch_size || pending == 0 || at_end)
            && sender
                .send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(batch_size),
                ))
                .await
                .is_err()
        {
            return Ok(());
        }
        if at_end {
            return Ok(());
        }
    }
    Ok(())
}

/// Applies a batch and its checkpoint in one transaction. If the batch fails in the database,
/// each event is retried alone so one bad event is dead-lettered instead of blocking the rest.
async fn write_batch(
    bus: &Bus,
    pool: &PgPool,
    projection: Projection,
    batch: Vec<Item>,
) -> Result<u64, ProjectorError> {
    let last = batch.last().map(Item::sequence).unwrap_or(0);
    let mut events = Vec::with_capacity(batch.len());
    let mut poison = Vec::new();
    for item in batch {
        match item {
            Item::Event(stored) => events.push(stored),
            Item::Poison(raw, reason) => poison.push((raw, reason)),
        }
    }
    for (raw, reason) in &poison {
        dead_letter(
            bus,
            projection,
            raw.sequence,
            &raw.subject,
            raw.payload.clone(),
            raw.headers.as_ref(),
            reason,
        )
        .await?;
    }
    match apply_with_checkpoint(pool, projection, &events, last).await {
        Ok(()) => return Ok(events.len() as u64),
        Err(error) if !is_data_error(&error) => return Err(error.into()),
        Err(error) => {
            tracing::warn!(projection = projection.name(), %error, "batch failed; applying its events one by one")
        }
    }
    let mut applied = 0;
    for stored in &events {
        match apply_with_checkpoint(
            pool,
            projection,
            std::slice::from_ref(stored),
            stored.sequence,
        )
        .await
        {
            Ok(()) => applied += 1,
            Err(error) if is_data_error(&error) => {
                let payload = bytes::Bytes::from(stored.envelope.to_json());
                dead_letter(
                    bus,
                    projection,
                    stored.sequence,
                    &stored.envelope.subject(),
                    payload,
                    None,
                    &format!("cannot apply: {error}"),
                )
                .await?;
                set_checkpoint_alone(pool, projection, stored.sequence).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    set_checkpoint_alone(pool, projection, last).await?;
    Ok(applied)
}

/// Errors caused by the event's data (SQLSTATE classes 22 "data exception" and 23 "integrity
/// constraint violation"). Anything else — a missing table, a read-only database, a deadlock —
/// is the database's problem and is retried, never dead-lettered.
fn is_data_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        _ => false,
    }
}

async fn apply_with_checkpoint(
    pool: &PgPool,
    projection: Projection,
    events: &[Stored],
    last: u64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    projection.apply(&mut tx, events).await?;
    models::audit::record(&mut tx, projection.stream(), events).await?;
    store_checkpoint(&mut tx, projection, last).await?;
    tx.commit().await
}

async fn set_checkpoint_alone(
    pool: &PgPool,
    projection: Projection,
    last: u64,
) -> sqlx::Result<()> {
    let mut connection = pool.acquire().await?;
    store_checkpoint(&mut connection, projection, last).await
}

async fn store_checkpoint(
    connection: &mut PgConnection,
    projection: Projection,
    last: u64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection, stream, last_sequence, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (projection) DO UPDATE SET last_sequence = GREATEST(projection_checkpoints.last_sequence, excluded.last_sequence),
           updated_at = now()",
    )
    .bind(projection.name())
    .bind(projection.stream())
    .bind(last as i64)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn dead_letter(
    bus: &Bus,
    projection: Projection,
    sequence: u64,
    subject: &str,
    payload: bytes::Bytes,
    headers: Option<&async_nats::HeaderMap>,
    reason: &str,
) -> Result<(), ProjectorError> {
    let origin = Origin {
        stream: projection.stream().to_owned(),
        consumer: projection.consumer_name(),
        subject: subject.to_owned(),
        sequence,
        replay_of: None,
    };
    bus.dead_letter(&origin, payload, headers, reason).await?;
    Ok(())
}
