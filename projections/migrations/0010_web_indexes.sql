-- What the admin web UI and the content API read at scale (`remotehunt bench web`: 100,000
-- users, 1,000,000 vacancies). The vacancy list walks vacancies newest first and stops at a
-- page; the dashboard counts one day of users, payments, posts and deliveries. (No trigram
-- index on the posts' text: with it the planner fetched and sorted every post of a common word
-- — 200 searches for «дизайн» took over three minutes — where walking the newest posts first
-- finds a page in milliseconds; and it slowed the messages projection to ~1,300 posts a second.)
CREATE INDEX vacancies_newest ON vacancies (classified_at DESC, chat_id, message_id);
CREATE INDEX users_by_registered_at ON users (registered_at);
CREATE INDEX users_by_trial_started_at ON users (trial_started_at);
CREATE INDEX payments_by_paid_at ON payments (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX payments_by_refunded_at ON payments (refunded_at) WHERE refunded_at IS NOT NULL;
CREATE INDEX deliveries_by_delivered_at ON deliveries (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX deliveries_by_failed_at ON deliveries (failed_at) WHERE failed_at IS NOT NULL;
-- The dashboard's counts: a day's vacancies from the index alone, a user's first payment, who
-- pays or is on a trial now.
CREATE INDEX vacancies_by_day ON vacancies (classified_at, chat_id) WHERE kind = 'vacancy';
CREATE INDEX payments_by_user ON payments (user_id, paid_at);
CREATE INDEX users_by_paid_until ON users (paid_until) WHERE paid_until IS NOT NULL;
CREATE INDEX users_by_trial_ends_at ON users (trial_ends_at) WHERE trial_ends_at IS NOT NULL;
