ALTER TABLE room_members DROP COLUMN read_at;
