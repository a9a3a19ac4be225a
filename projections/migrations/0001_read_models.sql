-- Read models built by the projectors. Only the projections crate writes these tables.
-- Every row carries last_seq, the stream sequence of the last event applied to it: upserts are
-- guarded by it, so redelivered and replayed events change nothing.

CREATE TABLE projection_checkpoints (
    projection    text PRIMARY KEY,
    stream        text NOT NULL,
    last_sequence bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    slug     text PRIMARY KEY,
    name     text NOT NULL,
    ord      integer NOT NULL,
    retired  boolean NOT NULL DEFAULT false,
    last_seq bigint NOT NULL
);

CREATE TABLE channels (
    key      text PRIMARY KEY,
    chat_id  bigint NOT NULL,
    username text,
    title    text NOT NULL,
    kind     text NOT NULL,
    enabled  boolean NOT NULL,
    removed  boolean NOT NULL DEFAULT false,
    last_seq bigint NOT NULL
);

CREATE TABLE channel_rules (
    scope    text PRIMARY KEY,
    rules    jsonb NOT NULL,
    last_seq bigint NOT NULL
);

CREATE TABLE messages (
    chat_id       bigint NOT NULL,
    message_id    bigint NOT NULL,
    chat_username text,
    chat_title    text,
    posted_at     timestamptz NOT NULL,
    edited_at     timestamptz,
    text          text NOT NULL,
    links         jsonb NOT NULL DEFAULT '[]',
    contacts      jsonb NOT NULL DEFAULT '[]',
    author_key    text,
    link          text,
    source        text NOT NULL,
    deleted       boolean NOT NULL DEFAULT false,
    last_seq      bigint NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- One row per screened message: accepted, rejected, or a duplicate of an earlier one.
CREATE TABLE screening (
    chat_id          bigint NOT NULL,
    message_id       bigint NOT NULL,
    verdict          text NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'duplicate')),
    rule             text,
    scope            text,
    original_chat_id bigint,
    original_message_id bigint,
    last_seq         bigint NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE vacancies (
    chat_id        bigint NOT NULL,
    message_id     bigint NOT NULL,
    kind           text NOT NULL,
    confidence     real NOT NULL,
    classifier     text NOT NULL,
    model          text NOT NULL,
    prompt_version text,
    title          text,
    budget         jsonb,
    remote         boolean,
    corrected      boolean NOT NULL DEFAULT false,
    classified_at  timestamptz NOT NULL,
    last_seq       bigint NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE vacancy_categories (
    chat_id    bigint NOT NULL,
    message_id bigint NOT NULL,
    slug       text NOT NULL,
    rank       integer NOT NULL,
    score      real NOT NULL,
    PRIMARY KEY (chat_id, message_id, slug)
);
CREATE INDEX vacancy_categories_by_slug ON vacancy_categories (slug);

CREATE TABLE users (
    user_id       bigint PRIMARY KEY,
    username      text,
    first_name    text NOT NULL DEFAULT '',
    language_code text,
    registered_at timestamptz,
    trial_ends_at timestamptz,
    paid_until    timestamptz,
    last_seq      bigint NOT NULL
);

CREATE TABLE user_categories (
    user_id bigint NOT NULL,
    slug    text NOT NULL,
    PRIMARY KEY (user_id, slug)
);

-- Whether a category bot may write to a user (they started it and did not stop or block it).
CREATE TABLE user_bots (
    user_id  bigint NOT NULL,
    category text NOT NULL,
    active   boolean NOT NULL,
    reason   text,
    last_seq bigint NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE hidden_authors (
    user_id  bigint NOT NULL,
    author   text NOT NULL,
    hidden   boolean NOT NULL,
    last_seq bigint NOT NULL,
    PRIMARY KEY (user_id, author)
);

CREATE TABLE reports (
    report_id  text PRIMARY KEY,
    user_id    bigint NOT NULL,
    chat_id    bigint NOT NULL,
    message_id bigint NOT NULL,
    category   text,
    reason     text NOT NULL,
    resolution text,
    resolved_by bigint,
    last_seq   bigint NOT NULL
);

CREATE TABLE payments (
    payment_id          text PRIMARY KEY,
    user_id             bigint NOT NULL,
    plan                text NOT NULL,
    days                integer NOT NULL,
    provider            text NOT NULL,
    amount_minor        bigint NOT NULL,
    currency            text NOT NULL,
    status              text NOT NULL,
    provider_payment_id text,
    created_at          timestamptz NOT NULL,
    paid_at             timestamptz,
    refunded_minor      bigint NOT NULL DEFAULT 0,
    last_seq            bigint NOT NULL
);

CREATE TABLE deliveries (
    user_id         bigint NOT NULL,
    chat_id         bigint NOT NULL,
    message_id      bigint NOT NULL,
    category        text NOT NULL,
    sent_message_id bigint,
    delivered_at    timestamptz,
    error           text,
    last_seq        bigint NOT NULL,
    PRIMARY KEY (user_id, chat_id, message_id)
);
