-- Order events (issue 28, point 4): what happened to an order, as the platform reports it.
-- `orders.status` and `status_at` hold the newest (what a policy closing rooms after delivery
-- reads); `order_events` every report, with its place in the order's room's timeline when the
-- order has a room, and the platform's `event_id` that makes a retry record nothing new.
ALTER TABLE orders
    ADD COLUMN status    TEXT CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled', 'returned')),
    ADD COLUMN status_at BIGINT;

CREATE TABLE order_events (
    id           BIGSERIAL PRIMARY KEY,
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

-- An order event is an entry of its room's timeline. NOT VALID, then VALIDATE: the new check
-- is enforced at once, and the existing rows are checked without a lock that stops sends.
ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'order_event', 'message_edited', 'message_deleted')) NOT VALID;
ALTER TABLE room_events VALIDATE CONSTRAINT room_events_kind_check;
