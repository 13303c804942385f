-- Satisfaction (issue 28, point 7): the customer rates a closed room once, 1 to 5 with an
-- optional comment. Kept on the room row (none of these columns is indexed: the message
-- batch's update stays HOT); the `rated` event holds the room as rated.
ALTER TABLE chat_rooms
    ADD COLUMN rating_score   SMALLINT CHECK (rating_score BETWEEN 1 AND 5),
    ADD COLUMN rating_comment TEXT,
    ADD COLUMN rated_at       BIGINT;

ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'order_event', 'rated', 'message_edited', 'message_deleted')) NOT VALID;
ALTER TABLE room_events VALIDATE CONSTRAINT room_events_kind_check;
