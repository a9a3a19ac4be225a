-- The audit log: every event that records an admin's action (`Event::acting_admin`), from
-- whichever stream it is on. Each projector writes the rows of its own stream, keyed by the
-- stream and sequence, so applying an event twice changes nothing and a rebuild of one
-- projection clears only its stream's rows.
CREATE TABLE admin_actions (
    stream     text NOT NULL,
    seq        bigint NOT NULL,
    admin_id   bigint NOT NULL,
    at         timestamptz NOT NULL,
    event_type text NOT NULL,
    -- The aggregate's id (a channel's key, a user's id, a report's id...).
    aggregate  text NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX admin_actions_newest ON admin_actions (at DESC, stream, seq);
CREATE INDEX admin_actions_by_admin ON admin_actions (admin_id, at DESC);
