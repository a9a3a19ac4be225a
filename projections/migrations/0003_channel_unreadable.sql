-- Channels the Telegram reader cannot read (private, banned, unknown username), with the reason
-- Telegram gave; cleared when an operator configures the channel again.
ALTER TABLE channels ADD COLUMN unreadable text;
