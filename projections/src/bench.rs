//! The raw ceiling `remotehunt bench backbone` judges the messages projector against: the same
//! rows upserted with UNNEST, one checkpoint row per transaction, into scratch copies of the
//! table (`bench_messages`, `bench_checkpoint`) in the benchmark's own throwaway database. Here,
//! next to the projector, because it names the read model's table and must keep its shape.

use schemas::MessageReceived;
use sqlx::PgPool;

/// Creates `bench_messages`, shaped as `messages` (indexes and constraints too), and
/// `bench_checkpoint`. Fails if they exist: run it once, on a scratch database.
pub async fn create_raw_tables(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("CREATE TABLE bench_messages (LIKE messages INCLUDING ALL)")
        .execute(pool)
        .await?;
    sqlx::query("CREATE TABLE bench_checkpoint (name text PRIMARY KEY, seq bigint)")
        .execute(pool)
        .await?;
    Ok(())
}

/// Upserts `rows` into `bench_messages` with one UNNEST statement, and `checkpoint` into
/// `bench_checkpoint`, in one transaction: what a projector's batch costs without the projector.
pub async fn raw_upsert_batch(
    pool: &PgPool,
    rows: &[MessageReceived],
    checkpoint: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO bench_messages (chat_id, message_id, chat_username, chat_title, posted_at, text, links,
                                     contacts, author_key, link, source, last_seq)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
                              $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::bigint[])
         ON CONFLICT (chat_id, message_id) DO UPDATE SET text = excluded.text, last_seq = excluded.last_seq
         WHERE bench_messages.last_seq < excluded.last_seq",
    )
    .bind(rows.iter().map(|r| r.key.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.key.message_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_username.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_title.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.posted_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.text.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| serde_json::Value::from(r.links.clone())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| serde_json::Value::from(r.contacts.clone())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.author.key()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.link.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|_| "import").collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.key.message_id).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO bench_checkpoint VALUES ('raw', $1) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
    )
    .bind(checkpoint)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// `count` users (ids from 1) whose trial ends at evenly spread instants in `(from, from +
/// spread]`, straight into the users read model: what the scheduler's benchmark plans for.
pub async fn insert_users_ending(
    pool: &PgPool,
    count: usize,
    from: chrono::DateTime<chrono::Utc>,
    spread: chrono::Duration,
) -> sqlx::Result<()> {
    let step = spread / (count.max(1) as i32);
    for chunk in (1..=count as i64).collect::<Vec<_>>().chunks(10_000) {
        let ends: Vec<chrono::DateTime<chrono::Utc>> =
            chunk.iter().map(|n| from + step * (*n as i32)).collect();
        sqlx::query(
            "INSERT INTO users (user_id, first_name, registered_at, trial_started_at, trial_ends_at, last_seq)
             SELECT id, 'Bench', end_at - interval '2 days', end_at - interval '2 days', end_at, 0
             FROM UNNEST($1::bigint[], $2::timestamptz[]) AS t(id, end_at)",
        )
        .bind(chunk)
        .bind(ends)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Every user id in the users read model.
pub async fn user_ids(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT user_id FROM users ORDER BY user_id")
        .fetch_all(pool)
        .await
}

/// How big the read models a benchmark loaded are: users, vacancies, succeeded payments.
pub async fn read_model_sizes(pool: &PgPool) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM vacancies),
                (SELECT count(*) FROM payments WHERE status = 'succeeded')",
    )
    .fetch_one(pool)
    .await
}
