DROP TRIGGER chat_rooms_awaiting_staff;
CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN OLD.waiting_for IS NOT NEW.waiting_for OR OLD.waiting_since IS NOT NEW.waiting_since
BEGIN
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
DROP INDEX response_times_unannounced_idx;
CREATE INDEX response_times_unmeasured_idx ON response_times (id)
    WHERE answered_at IS NOT NULL AND response_micros IS NULL;
ALTER TABLE response_times DROP COLUMN announced;
