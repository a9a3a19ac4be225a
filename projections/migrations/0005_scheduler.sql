-- The scheduler's read models: job runs, the notifications it planned and how they went, and
-- the columns its daily report counts by day.

ALTER TABLE users ADD COLUMN trial_started_at timestamptz;
ALTER TABLE payments ADD COLUMN refunded_at timestamptz;
ALTER TABLE deliveries ADD COLUMN failed_at timestamptz;

-- A user's access ends at the later of the trial's end and the paid period's: expiry notices
-- look users up by that instant.
CREATE INDEX users_by_access_end ON users (GREATEST(trial_ends_at, paid_until));

CREATE TABLE job_runs (
    run_id       text PRIMARY KEY,
    job          text NOT NULL,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    triggered_by text,
    tick_at      timestamptz NOT NULL,
    finished_at  timestamptz,
    -- NULL while the run is going (or died before it could say).
    outcome      text CHECK (outcome IN ('succeeded', 'failed')),
    counts       jsonb NOT NULL DEFAULT '{}',
    error        text,
    last_seq     bigint NOT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job, tick_at DESC);

CREATE TABLE notifications (
    notification_id text PRIMARY KEY,
    outbox          text NOT NULL,
    topic           text NOT NULL,
    -- The user or admin it goes to or is about; NULL for the public channel.
    person_id       bigint,
    -- The end instant an expiry notice is about.
    about_at        timestamptz,
    run_id          text NOT NULL,
    planned_at      timestamptz NOT NULL,
    claimed_at      timestamptz,
    sent_at         timestamptz,
    sent_message_id bigint,
    error           text,
    last_seq        bigint NOT NULL
);
CREATE INDEX notifications_by_person ON notifications (person_id, topic, about_at);
