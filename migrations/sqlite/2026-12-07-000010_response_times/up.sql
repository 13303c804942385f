-- Response-time targets, as on Postgres: the running clock of a room waiting for staff is its
-- row of `rooms_awaiting_staff`; a stopped one moves to `response_times`. Rooms already waiting
-- are not timed.
ALTER TABLE rooms_awaiting_staff ADD COLUMN clock TEXT NOT NULL DEFAULT 'first_response'
    CHECK (clock IN ('first_response', 'next_response'));
ALTER TABLE rooms_awaiting_staff ADD COLUMN timed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE rooms_awaiting_staff ADD COLUMN due_at BIGINT;
ALTER TABLE rooms_awaiting_staff ADD COLUMN breached_at BIGINT;
UPDATE rooms_awaiting_staff SET timed = FALSE;

CREATE INDEX rooms_awaiting_staff_unscheduled_idx ON rooms_awaiting_staff (clock, room_id)
    WHERE due_at IS NULL AND timed;
CREATE INDEX rooms_awaiting_staff_due_idx ON rooms_awaiting_staff (due_at)
    WHERE breached_at IS NULL AND due_at IS NOT NULL;

CREATE TABLE response_times (
    id              INTEGER PRIMARY KEY,
    room_id         BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    clock           TEXT NOT NULL CHECK (clock IN ('first_response', 'next_response')),
    timed           BOOLEAN NOT NULL,
    started_at      BIGINT NOT NULL,
    due_at          BIGINT,
    breached_at     BIGINT,
    answered_at     BIGINT,
    answered_seq    BIGINT,
    ended_at        BIGINT NOT NULL,
    responder_id    TEXT,
    response_micros BIGINT
);
CREATE INDEX response_times_room_idx ON response_times (room_id);
CREATE INDEX response_times_ended_idx ON response_times (ended_at);
CREATE INDEX response_times_unmeasured_idx ON response_times (id)
    WHERE answered_at IS NOT NULL AND response_micros IS NULL;

DROP TRIGGER chat_rooms_awaiting_staff;
CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN OLD.waiting_for IS NOT NEW.waiting_for OR OLD.waiting_since IS NOT NEW.waiting_since
BEGIN
    -- The clock stops: staff answered (the room waits for the customer now) or it closed.
    INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at,
                                answered_at, answered_seq, ended_at)
    SELECT room_id, clock, timed, since, due_at, breached_at,
           CASE WHEN NEW.waiting_for = 'customer' THEN NEW.waiting_since END,
           CASE WHEN NEW.waiting_for = 'customer' THEN NEW.last_seq END,
           coalesce(NEW.waiting_since, NEW.closed_at, NEW.last_activity_at)
    FROM rooms_awaiting_staff
    WHERE room_id = NEW.id AND NEW.waiting_for IS NOT 'staff';
    DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id AND NEW.waiting_for IS NOT 'staff';
    UPDATE rooms_awaiting_staff SET since = NEW.waiting_since
    WHERE room_id = NEW.id AND NEW.waiting_for = 'staff';
    INSERT INTO rooms_awaiting_staff (room_id, since, clock)
    SELECT NEW.id, NEW.waiting_since,
           CASE WHEN OLD.waiting_for = 'customer' THEN 'next_response' ELSE 'first_response' END
    WHERE NEW.waiting_for = 'staff' AND OLD.waiting_for IS NOT 'staff';
END;

CREATE TABLE room_events_new (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed',
                                             'order_changed', 'order_event', 'rated',
                                             'sla_breached', 'message_edited',
                                             'message_deleted')),
    message_id BIGINT,
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    staff_only BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (room_id, seq)
);
INSERT INTO room_events_new (room_id, seq, kind, message_id, frame, created_at, staff_only)
    SELECT room_id, seq, kind, message_id, frame, created_at, staff_only FROM room_events;
DROP TABLE room_events;
ALTER TABLE room_events_new RENAME TO room_events;
