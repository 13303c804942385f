ALTER TABLE attachments DROP COLUMN preview_key;
ALTER TABLE attachments DROP COLUMN height;
ALTER TABLE attachments DROP COLUMN width;
