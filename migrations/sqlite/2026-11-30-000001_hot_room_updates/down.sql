DROP INDEX chat_rooms_activity_bucket_idx;
CREATE INDEX chat_rooms_activity_idx ON chat_rooms (last_activity_at DESC, id DESC);
ALTER TABLE chat_rooms DROP COLUMN activity_bucket;
