-- A category may have several bots (users sharded across them). NULL: recorded while the
-- category had one bot, which is its first.
ALTER TABLE user_bots ADD COLUMN bot_id bigint;
ALTER TABLE deliveries ADD COLUMN bot_id bigint;

-- How many users each of a category's bots has: the main bot sends a newcomer to the least
-- loaded one.
CREATE INDEX user_bots_by_category ON user_bots (category, bot_id) WHERE active;

-- Paying subscribers get a category's vacancies before those on a trial (a catalog setting).
ALTER TABLE categories ADD COLUMN paid_first boolean NOT NULL DEFAULT false;
