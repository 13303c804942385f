-- Conversation retention and legal holds (issue 29), as on Postgres.
--
-- Per room, beside `chat_rooms` (whose row every message batch updates): its own retention
-- (`history_days`, NULL = the global `HISTORY_RETENTION_DAYS`), its legal hold (no purge of any
-- kind while set), and how far its history has been purged: every timeline entry at or below
-- `purged_through` is gone, the seqs above it are untouched, so a resume across the purged
-- range can be told so.
CREATE TABLE room_retention (
    room_id        BIGINT PRIMARY KEY REFERENCES chat_rooms (id) ON DELETE CASCADE,
    history_days   INTEGER CHECK (history_days BETWEEN 1 AND 36500),
    legal_hold     BOOLEAN NOT NULL DEFAULT FALSE,
    hold_reason    TEXT,
    purged_through BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

-- People whose data must be kept (a legal hold per user, placed by the platform or an admin):
-- no room they are a member of is purged while it is set.
CREATE TABLE user_legal_holds (
    user_id   TEXT PRIMARY KEY,
    reason    TEXT,
    placed_at BIGINT NOT NULL,
    placed_by TEXT NOT NULL
);

-- Stored files (attachments, previews) whose rows are gone and whose objects are still to be
-- deleted from the disk or the bucket. Written in the transaction that deletes the rows, so a
-- crash between the two never leaves a file nobody will delete; drained by every node's
-- attachment collector.
CREATE TABLE storage_deletions (
    object_key TEXT PRIMARY KEY,
    queued_at  BIGINT NOT NULL
);
