-- What the bot knows of each Telegram Stars subscription: its charges (the first month and
-- each renewal), when the paid month ends, and whether the user turned renewal off through
-- the bot. «Моя подписка» shows it and offers to cancel.
CREATE TABLE stars_subscriptions (
    subscription_id text PRIMARY KEY,
    user_id         bigint NOT NULL,
    plan            text NOT NULL,
    first_charge_id text NOT NULL,
    stars           integer NOT NULL,
    charges         integer NOT NULL,
    started_at      timestamptz NOT NULL,
    paid_until      timestamptz NOT NULL,
    canceled        boolean NOT NULL DEFAULT false,
    edited_at       timestamptz,
    last_seq        bigint NOT NULL
);
CREATE INDEX stars_subscriptions_by_user ON stars_subscriptions (user_id, paid_until DESC);

-- A hidden author known by id reads as their @username when a post of theirs carried one.
ALTER TABLE messages ADD COLUMN author_username text;
