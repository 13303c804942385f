CREATE OR REPLACE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.waiting_for = 'staff' AND NEW.waiting_for = 'staff' THEN
        UPDATE rooms_awaiting_staff SET since = NEW.waiting_since WHERE room_id = NEW.id;
    ELSIF OLD.waiting_for = 'staff' THEN
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
DROP INDEX response_times_unannounced_idx;
CREATE INDEX response_times_unmeasured_idx ON response_times (id)
    WHERE answered_at IS NOT NULL AND response_micros IS NULL;
ALTER TABLE response_times DROP COLUMN announced;
