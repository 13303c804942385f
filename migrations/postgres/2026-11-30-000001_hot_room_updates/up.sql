-- Every batch of messages updates its rooms' rows (last_seq, last_activity_at) and the
-- senders' read markers. Postgres makes such an update HOT (a new version on the same page,
-- no new index entries, pruned without VACUUM) only if no indexed column changes and the
-- page has room. The room list's index therefore covers the second of the last activity
-- (activity_bucket, changing at most once a second per room) instead of the exact time, and
-- both tables leave room on each page for new versions. See ACTIVITY_BUCKET_MICROS.
ALTER TABLE chat_rooms ADD COLUMN activity_bucket BIGINT NOT NULL DEFAULT 0;
UPDATE chat_rooms SET activity_bucket = last_activity_at / 1000000;
DROP INDEX chat_rooms_activity_idx;
CREATE INDEX chat_rooms_activity_bucket_idx ON chat_rooms (activity_bucket DESC, id DESC);
ALTER TABLE chat_rooms SET (fillfactor = 50);
ALTER TABLE room_members SET (fillfactor = 70);
