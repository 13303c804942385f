-- Internal notes, as on Postgres: staff-only messages, and the room events about them.
ALTER TABLE messages ADD COLUMN note BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE room_events ADD COLUMN staff_only BOOLEAN NOT NULL DEFAULT FALSE;
