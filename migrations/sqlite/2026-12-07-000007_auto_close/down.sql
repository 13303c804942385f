DROP INDEX chat_rooms_open_activity_idx;
ALTER TABLE chat_rooms DROP COLUMN closed_by_policy;
