-- The rooms waiting for staff, longest first (issue 28: the room list's `sort=waiting_longest`).
--
-- An index on `chat_rooms.waiting_since` would cost every change of who a room waits for a
-- non-HOT update of the room row (a new entry in each of its indexes): in a conversation that
-- is about every other message. This narrow table holds only the rooms waiting for staff and is
-- written only when that changes, by the trigger below, whatever statement changed it (the
-- message batch, close, reopen): it cannot drift from the room row.
CREATE TABLE rooms_awaiting_staff (
    room_id BIGINT PRIMARY KEY REFERENCES chat_rooms (id) ON DELETE CASCADE,
    since   BIGINT NOT NULL
);
CREATE INDEX rooms_awaiting_staff_since_idx ON rooms_awaiting_staff (since, room_id);

CREATE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.waiting_for = 'staff' THEN
        INSERT INTO rooms_awaiting_staff (room_id, since) VALUES (NEW.id, NEW.waiting_since)
        ON CONFLICT (room_id) DO UPDATE SET since = excluded.since;
    ELSE
        DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- `WHEN` is checked as the row is written, so the function runs only at a change of side
-- (the batch sets both columns on every message, mostly to what they were).
CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN (OLD.waiting_for IS DISTINCT FROM NEW.waiting_for
          OR OLD.waiting_since IS DISTINCT FROM NEW.waiting_since)
    EXECUTE FUNCTION track_rooms_awaiting_staff();

INSERT INTO rooms_awaiting_staff (room_id, since)
SELECT id, waiting_since FROM chat_rooms WHERE waiting_for = 'staff';
