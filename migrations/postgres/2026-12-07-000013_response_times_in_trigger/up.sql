-- The trigger records each answer whole (issue 28). A sweep that measured every answer after
-- the fact — a select, a lookup and a non-HOT update per answer — cost `hot-rooms` a third of
-- its throughput (docs/PERFORMANCE.md). The wait is now written as the clock stops: its length
-- (calendar time), who answered (the newest staff message of the room: the trigger fires at
-- the end of the message batch's statement, which has stored it), and whether it came after
-- the deadline. Only a late answer the sweep had not yet marked leaves work behind
-- (`announced` false, rare, through a partial index): its `sla_breached` event.
ALTER TABLE response_times ADD COLUMN announced BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE response_times SET response_micros = answered_at - started_at
WHERE answered_at IS NOT NULL AND response_micros IS NULL;
DROP INDEX response_times_unmeasured_idx;
CREATE INDEX response_times_unannounced_idx ON response_times (id) WHERE NOT announced;

CREATE OR REPLACE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.waiting_for = 'staff' AND NEW.waiting_for = 'staff' THEN
        UPDATE rooms_awaiting_staff SET since = NEW.waiting_since WHERE room_id = NEW.id;
    ELSIF OLD.waiting_for = 'staff' AND NEW.waiting_for = 'customer' THEN
        -- Staff answered: the clock stops with the answer measured.
        WITH stopped AS (
            DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id RETURNING *
        )
        INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at,
                                    answered_at, answered_seq, ended_at, responder_id,
                                    response_micros, announced)
        SELECT room_id, clock, timed, since, due_at,
               CASE WHEN breached_at IS NULL AND due_at < NEW.waiting_since
                    THEN NEW.waiting_since ELSE breached_at END,
               NEW.waiting_since, NEW.last_seq, NEW.waiting_since,
               (SELECT m.sender_id FROM messages m
                WHERE m.room_id = NEW.id AND m.seq <= NEW.last_seq
                  AND m.sender_role = 'admin' AND NOT m.note
                ORDER BY m.seq DESC LIMIT 1),
               NEW.waiting_since - since,
               NOT (breached_at IS NULL AND coalesce(due_at < NEW.waiting_since, FALSE))
        FROM stopped;
    ELSIF OLD.waiting_for = 'staff' THEN
        -- The room closed first: the clock stops unanswered.
        WITH stopped AS (
            DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id RETURNING *
        )
        INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at,
                                    ended_at)
        SELECT room_id, clock, timed, since, due_at, breached_at,
               coalesce(NEW.closed_at, NEW.last_activity_at)
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
