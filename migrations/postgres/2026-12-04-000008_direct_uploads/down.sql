DROP INDEX attachments_upload_key;
ALTER TABLE attachments DROP COLUMN upload_key;
ALTER TABLE attachments DROP COLUMN pending;
