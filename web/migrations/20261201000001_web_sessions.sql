-- The admin web UI's sessions: owned by `web`, not a read model (nothing replays into it).
-- Only a hash of the cookie's value is kept, so a copy of the table opens no session.
CREATE TABLE IF NOT EXISTS web_sessions (
    session_hash text PRIMARY KEY,
    admin_id     bigint NOT NULL,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS web_sessions_by_last_seen ON web_sessions (last_seen_at);
