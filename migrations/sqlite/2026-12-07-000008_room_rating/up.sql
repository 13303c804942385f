-- Satisfaction, as on Postgres: the customer's rating of a closed room, and its `rated` event
-- (SQLite cannot alter a CHECK constraint: the events table is rebuilt with the new one).
ALTER TABLE chat_rooms ADD COLUMN rating_score SMALLINT CHECK (rating_score BETWEEN 1 AND 5);
ALTER TABLE chat_rooms ADD COLUMN rating_comment TEXT;
ALTER TABLE chat_rooms ADD COLUMN rated_at BIGINT;

CREATE TABLE room_events_new (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed',
                                             'order_changed', 'order_event', 'rated',
                                             'message_edited', 'message_deleted')),
    message_id BIGINT,
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    staff_only BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (room_id, seq)
);
INSERT INTO room_events_new (room_id, seq, kind, message_id, frame, created_at, staff_only)
    SELECT room_id, seq, kind, message_id, frame, created_at, staff_only FROM room_events;
DROP TABLE room_events;
ALTER TABLE room_events_new RENAME TO room_events;
