-- Direct uploads: the client PUTs the bytes straight into the object store with a presigned
-- URL. Such a row is made when the URL is handed out, `pending` until the service has checked
-- the object (size, type from its bytes, hash) and copied it to `storage_key`, a key no client
-- can write. `upload_key` is where the client PUT it; that object is removed once the URL has
-- expired (before that the client could PUT it again), and the column cleared.
ALTER TABLE attachments ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE attachments ADD COLUMN upload_key TEXT;
CREATE INDEX attachments_upload_key ON attachments (created_at) WHERE upload_key IS NOT NULL;
