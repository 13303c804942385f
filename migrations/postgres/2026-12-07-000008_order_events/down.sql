DELETE FROM room_events WHERE kind = 'order_event';
ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'message_edited', 'message_deleted'));
DROP TABLE order_events;
ALTER TABLE orders DROP COLUMN status_at, DROP COLUMN status;
