-- Files uploaded into a room. The bytes live in the object store under `storage_key`; this row
-- is written once they are all there, so a row always has its object. An attachment belongs
-- to its room and uploader and goes into at most one message (`message_id`, set when sent);
-- rows never attached are collected after a while.
CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    uploader_id TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL,
    -- Detected from the file's first bytes, never taken from the client.
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Hex SHA-256 of the bytes.
    sha256 TEXT NOT NULL,
    message_id BIGINT REFERENCES messages (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
-- Uploads per user over a window (the per-user rate and quota).
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
