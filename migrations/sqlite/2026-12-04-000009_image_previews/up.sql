-- Images: their size as displayed (read from their first bytes, EXIF rotation applied) and
-- the key of a small JPEG preview, made after the upload. A row has a `preview_key` when a
-- preview is (or will be) made of it; it is cleared when none can be.
ALTER TABLE attachments ADD COLUMN width INTEGER;
ALTER TABLE attachments ADD COLUMN height INTEGER;
ALTER TABLE attachments ADD COLUMN preview_key TEXT;
