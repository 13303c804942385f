DROP TRIGGER chat_rooms_awaiting_staff ON chat_rooms;
DROP FUNCTION track_rooms_awaiting_staff();

CREATE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN (OLD.waiting_for IS DISTINCT FROM NEW.waiting_for
          OR OLD.waiting_since IS DISTINCT FROM NEW.waiting_since)
    EXECUTE FUNCTION track_rooms_awaiting_staff();
