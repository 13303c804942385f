DELETE FROM room_events WHERE kind = 'sla_breached';
ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'order_event', 'rated', 'message_edited', 'message_deleted'));

CREATE OR REPLACE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TABLE response_times;
DROP INDEX rooms_awaiting_staff_due_idx;
DROP INDEX rooms_awaiting_staff_unscheduled_idx;
ALTER TABLE rooms_awaiting_staff
    DROP COLUMN breached_at, DROP COLUMN due_at, DROP COLUMN timed, DROP COLUMN clock;
