-- Edits and deletes. A message keeps its row and its seq; an edit replaces its content and
-- sets `edited_at`, a delete empties it (a tombstone: `deleted_at`, `deleted_by`). The words
-- each change replaced are kept in `message_revisions`, which only admins can read.
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_by TEXT;

CREATE TABLE message_revisions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- 1, 2, … per message, in the order of the changes.
    revision   BIGINT NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('edited', 'deleted')),
    -- The content the change replaced.
    content    TEXT NOT NULL,
    -- The edit's idempotency key: a retry with it changes nothing.
    client_id  TEXT,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, revision)
);
