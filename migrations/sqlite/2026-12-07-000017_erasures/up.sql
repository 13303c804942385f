-- Erasure of a person (issue 29): the platform asks, every node's eraser carries it out in
-- short idempotent steps. The row stays once the erasure is done: it says when, and makes a
-- second request harmless. `events_after_*` and `deliveries_after` are the eraser's place in
-- the stored frames and queued deliveries it rewrites, so a crash resumes where it stopped.
CREATE TABLE erasures (
    user_id            TEXT PRIMARY KEY,
    requested_at       BIGINT NOT NULL,
    requested_by       TEXT NOT NULL,
    finished_at        BIGINT,
    events_after_room  BIGINT NOT NULL DEFAULT 0,
    events_after_seq   BIGINT NOT NULL DEFAULT 0,
    deliveries_after   BIGINT NOT NULL DEFAULT 0
);
