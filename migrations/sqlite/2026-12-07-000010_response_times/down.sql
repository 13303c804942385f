DELETE FROM room_events WHERE kind = 'sla_breached';
DROP TRIGGER chat_rooms_awaiting_staff;
CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE OF waiting_for, waiting_since ON chat_rooms
    FOR EACH ROW
    WHEN OLD.waiting_for IS NOT NEW.waiting_for OR OLD.waiting_since IS NOT NEW.waiting_since
BEGIN
    DELETE FROM rooms_awaiting_staff WHERE room_id = NEW.id;
    INSERT INTO rooms_awaiting_staff (room_id, since)
    SELECT NEW.id, NEW.waiting_since WHERE NEW.waiting_for = 'staff';
END;
DROP TABLE response_times;
DROP INDEX rooms_awaiting_staff_due_idx;
DROP INDEX rooms_awaiting_staff_unscheduled_idx;
ALTER TABLE rooms_awaiting_staff DROP COLUMN breached_at;
ALTER TABLE rooms_awaiting_staff DROP COLUMN due_at;
ALTER TABLE rooms_awaiting_staff DROP COLUMN timed;
ALTER TABLE rooms_awaiting_staff DROP COLUMN clock;
