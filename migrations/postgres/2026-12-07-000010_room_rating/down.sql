DELETE FROM room_events WHERE kind = 'rated';
ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'order_event', 'message_edited', 'message_deleted'));
ALTER TABLE chat_rooms DROP COLUMN rated_at, DROP COLUMN rating_comment, DROP COLUMN rating_score;
