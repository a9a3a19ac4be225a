-- The main bot's live menu per user (the message it redraws when the user starts a category
-- bot) and the time zone the user reads times in (NULL: Moscow).

ALTER TABLE users ADD COLUMN menu_message_id integer;
ALTER TABLE users ADD COLUMN time_zone text;

-- «Моя подписка» names a hidden author by the channel of their latest post.
CREATE INDEX messages_by_author ON messages (author_key, posted_at DESC) WHERE author_key IS NOT NULL;

-- Each admin's copy of a report, edited when the report is decided.
CREATE TABLE report_copies (
    report_id  text NOT NULL,
    admin_id   bigint NOT NULL,
    message_id integer NOT NULL,
    last_seq   bigint NOT NULL,
    PRIMARY KEY (report_id, admin_id)
);

-- A card taken back from the user's chat (a confirmed non-vacancy), and how.
ALTER TABLE deliveries ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE deliveries ADD COLUMN withdrawal text;
-- Who got a post, for taking it back.
CREATE INDEX deliveries_by_post ON deliveries (chat_id, message_id);

-- Where a user came from: their first /start's deep-link payload (a referral, the public
-- channel, a campaign), for the admins' report.
ALTER TABLE users ADD COLUMN source text;
