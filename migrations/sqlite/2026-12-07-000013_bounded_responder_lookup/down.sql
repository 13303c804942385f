DROP TRIGGER chat_rooms_awaiting_staff;
CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN OLD.waiting_for IS NOT NEW.waiting_for OR OLD.waiting_since IS NOT NEW.waiting_since
BEGIN
    -- Staff answered: the clock stops with the answer measured.
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
           NOT (breached_at IS NULL AND coalesce(due_at < NEW.waiting_since, 0))
    FROM rooms_awaiting_staff
    WHERE room_id = NEW.id AND OLD.waiting_for = 'staff' AND NEW.waiting_for = 'customer';
    -- The room closed first: the clock stops unanswered.
    INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at, ended_at)
    SELECT room_id, clock, timed, since, due_at, breached_at,
           coalesce(NEW.closed_at, NEW.last_activity_at)
    FROM rooms_awaiting_staff
    WHERE room_id = NEW.id AND OLD.waiting_for = 'staff' AND NEW.waiting_for IS NULL;
    DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id AND NEW.waiting_for IS NOT 'staff';
    UPDATE rooms_awaiting_staff SET since = NEW.waiting_since
    WHERE room_id = NEW.id AND NEW.waiting_for = 'staff';
    INSERT INTO rooms_awaiting_staff (room_id, since, clock)
    SELECT NEW.id, NEW.waiting_since,
           CASE WHEN OLD.waiting_for = 'customer' THEN 'next_response' ELSE 'first_response' END
    WHERE NEW.waiting_for = 'staff' AND OLD.waiting_for IS NOT 'staff';
END;
