-- The rooms waiting for staff, longest first, as on Postgres: one row per room waiting for
-- staff, kept by a trigger at each change of side whatever statement made it, read by the room
-- list's `sort=waiting_longest` through its index.
CREATE TABLE rooms_awaiting_staff (
    room_id INTEGER PRIMARY KEY REFERENCES chat_rooms (id) ON DELETE CASCADE,
    since   BIGINT NOT NULL
);
CREATE INDEX rooms_awaiting_staff_since_idx ON rooms_awaiting_staff (since, room_id);

CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN OLD.waiting_for IS NOT NEW.waiting_for OR OLD.waiting_since IS NOT NEW.waiting_since
BEGIN
    DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id;
    INSERT INTO rooms_awaiting_staff (room_id, since)
    SELECT NEW.id, NEW.waiting_since WHERE NEW.waiting_for = 'staff';
END;

INSERT INTO rooms_awaiting_staff (room_id, since)
SELECT id, waiting_since FROM chat_rooms WHERE waiting_for = 'staff';
