ALTER TABLE room_events DROP COLUMN staff_only;
ALTER TABLE messages DROP COLUMN note;
