CREATE TABLE room_events_new (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed',
                                             'order_changed', 'order_event', 'message_edited',
                                             'message_deleted')),
    message_id BIGINT,
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    staff_only BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (room_id, seq)
);
INSERT INTO room_events_new (room_id, seq, kind, message_id, frame, created_at, staff_only)
    SELECT room_id, seq, kind, message_id, frame, created_at, staff_only FROM room_events
    WHERE kind <> 'rated';
DROP TABLE room_events;
ALTER TABLE room_events_new RENAME TO room_events;
ALTER TABLE chat_rooms DROP COLUMN rated_at;
ALTER TABLE chat_rooms DROP COLUMN rating_comment;
ALTER TABLE chat_rooms DROP COLUMN rating_score;
