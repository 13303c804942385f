-- A change of a room's order (its reference, or its customer) is a room event too: members see
-- the room as it is now, and room lists and inbox catch-ups see activity. SQLite cannot alter
-- a CHECK constraint: the table is rebuilt with the new one.
CREATE TABLE room_events_new (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed',
                                             'order_changed', 'message_edited', 'message_deleted')),
    message_id BIGINT,
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
);
INSERT INTO room_events_new (room_id, seq, kind, message_id, frame, created_at)
    SELECT room_id, seq, kind, message_id, frame, created_at FROM room_events;
DROP TABLE room_events;
ALTER TABLE room_events_new RENAME TO room_events;
