-- Bearer tokens of the content API (/api/v1): only each token's SHA-256 is known, looked up on
-- every request; a revoked token stays, so it answers "revoked" rather than "unknown".
CREATE TABLE api_tokens (
    token_id   uuid PRIMARY KEY,
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    -- The admin who made or revoked it; NULL for the operator at the server.
    issued_by  bigint,
    issued_at  timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by bigint,
    last_seq   bigint NOT NULL
);

-- The API lists posts newest first, a page after a (posted_at, chat_id, message_id) cursor:
-- this index walks that order without sorting the whole table.
CREATE INDEX messages_by_posted_at ON messages (posted_at DESC, chat_id DESC, message_id DESC);
