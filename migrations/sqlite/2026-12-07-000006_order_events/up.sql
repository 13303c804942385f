-- Order events, as on Postgres: the order's newest status, and every report of the platform.
ALTER TABLE orders ADD COLUMN status TEXT
    CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled', 'returned'));
ALTER TABLE orders ADD COLUMN status_at BIGINT;

CREATE TABLE order_events (
    id           INTEGER PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled', 'returned')),
    text         TEXT,
    tracking_url TEXT,
    event_id     TEXT,
    created_at   BIGINT NOT NULL,
    room_id      BIGINT REFERENCES chat_rooms (id) ON DELETE SET NULL,
    seq          BIGINT
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);
CREATE UNIQUE INDEX order_events_event_id_idx ON order_events (order_id, event_id)
    WHERE event_id IS NOT NULL;

-- An order event is an entry of its room's timeline. SQLite cannot alter a CHECK constraint:
-- the table is rebuilt with the new one.
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
    SELECT room_id, seq, kind, message_id, frame, created_at, staff_only FROM room_events;
DROP TABLE room_events;
ALTER TABLE room_events_new RENAME TO room_events;
