DROP TABLE message_revisions;
ALTER TABLE messages DROP COLUMN deleted_by;
ALTER TABLE messages DROP COLUMN deleted_at;
ALTER TABLE messages DROP COLUMN edited_at;
