-- The main bot's live menu per user (the message it redraws when the user starts a category
-- bot) and the time zone the user reads times in (NULL: Moscow).

ALTER TABLE users ADD COLUMN menu_message_id integer;
ALTER TABLE users ADD COLUMN time_zone text;

-- «Моя подписка» names a hidden author by the channel of their latest post.
CREATE INDEX messages_by_author ON messages (author_key, posted_at DESC) WHERE author_key IS NOT NULL;
