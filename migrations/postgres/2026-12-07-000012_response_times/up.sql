-- Response-time targets (issue 28, point 2). A room waiting for staff has a running clock: its
-- row of `rooms_awaiting_staff`, which the waiting-state trigger already writes exactly when a
-- room starts or stops waiting for staff, whatever statement changed it. The clock is
-- `first_response` when the room waited for no one before (a new or reopened conversation)
-- and `next_response` when staff had spoken last. Its deadline (`due_at`) is filled in by the
-- response-time sweep, which knows the targets and the business hours; the sweep marks a clock
-- `breached_at` once the deadline passes. When the clock stops (staff answered, or the room
-- closed) the trigger moves it to `response_times`, the history the staff report reads; the
-- sweep then measures it (in business hours when they are set) and names who answered.
--
-- Rooms already waiting for staff keep waiting but are not timed (`timed` false): their clock
-- started before there were targets.
ALTER TABLE rooms_awaiting_staff
    ADD COLUMN clock       TEXT NOT NULL DEFAULT 'first_response'
        CHECK (clock IN ('first_response', 'next_response')),
    ADD COLUMN timed       BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN due_at      BIGINT,
    ADD COLUMN breached_at BIGINT;
UPDATE rooms_awaiting_staff SET timed = FALSE;

-- The clocks the sweep has to give a deadline, and those whose deadline it watches.
CREATE INDEX rooms_awaiting_staff_unscheduled_idx ON rooms_awaiting_staff (clock, room_id)
    WHERE due_at IS NULL AND timed;
CREATE INDEX rooms_awaiting_staff_due_idx ON rooms_awaiting_staff (due_at)
    WHERE breached_at IS NULL AND due_at IS NOT NULL;

CREATE TABLE response_times (
    id              BIGSERIAL PRIMARY KEY,
    room_id         BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    clock           TEXT NOT NULL CHECK (clock IN ('first_response', 'next_response')),
    timed           BOOLEAN NOT NULL,
    started_at      BIGINT NOT NULL,
    due_at          BIGINT,
    breached_at     BIGINT,
    -- NULL when the room closed before anyone answered.
    answered_at     BIGINT,
    -- The room's newest seq when staff answered: the answer is the newest staff message at or
    -- below it.
    answered_seq    BIGINT,
    ended_at        BIGINT NOT NULL,
    responder_id    TEXT,
    -- Filled in by the sweep: the wait, in business hours when they are set.
    response_micros BIGINT
);
CREATE INDEX response_times_room_idx ON response_times (room_id);
CREATE INDEX response_times_ended_idx ON response_times (ended_at);
CREATE INDEX response_times_unmeasured_idx ON response_times (id)
    WHERE answered_at IS NOT NULL AND response_micros IS NULL;

CREATE OR REPLACE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.waiting_for = 'staff' AND NEW.waiting_for = 'staff' THEN
        UPDATE rooms_awaiting_staff SET since = NEW.waiting_since WHERE room_id = NEW.id;
    ELSIF OLD.waiting_for = 'staff' THEN
        -- The clock stops: staff answered (the room waits for the customer now) or it closed.
        WITH stopped AS (
            DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id RETURNING *
        )
        INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at,
                                    answered_at, answered_seq, ended_at)
        SELECT room_id, clock, timed, since, due_at, breached_at,
               CASE WHEN NEW.waiting_for = 'customer' THEN NEW.waiting_since END,
               CASE WHEN NEW.waiting_for = 'customer' THEN NEW.last_seq END,
               coalesce(NEW.waiting_since, NEW.closed_at, NEW.last_activity_at)
        FROM stopped;
    ELSIF NEW.waiting_for = 'staff' THEN
        INSERT INTO rooms_awaiting_staff (room_id, since, clock)
        VALUES (NEW.id, NEW.waiting_since,
                CASE WHEN OLD.waiting_for = 'customer' THEN 'next_response'
                     ELSE 'first_response' END)
        ON CONFLICT (room_id) DO UPDATE SET since = excluded.since, clock = excluded.clock,
            timed = TRUE, due_at = NULL, breached_at = NULL;
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'order_event', 'rated', 'sla_breached', 'message_edited',
                    'message_deleted')) NOT VALID;
ALTER TABLE room_events VALIDATE CONSTRAINT room_events_kind_check;
