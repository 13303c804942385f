-- The same schema as on Postgres (see its migration of this name): the room list's index
-- covers the second of the last activity. SQLite has no HOT updates; the shape is kept the
-- same so that one set of queries serves both.
ALTER TABLE chat_rooms ADD COLUMN activity_bucket BIGINT NOT NULL DEFAULT 0;
UPDATE chat_rooms SET activity_bucket = last_activity_at / 1000000;
DROP INDEX chat_rooms_activity_idx;
CREATE INDEX chat_rooms_activity_bucket_idx ON chat_rooms (activity_bucket DESC, id DESC);
