-- Who a room waits for (issue 28), as on Postgres: `staff`, `customer`, or NULL for no one, and
-- since when. Kept by the message batch's update of the room row. Rooms stored before wait for
-- no one until their next message.
ALTER TABLE chat_rooms ADD COLUMN waiting_for TEXT CHECK (waiting_for IN ('staff', 'customer'));
ALTER TABLE chat_rooms ADD COLUMN waiting_since BIGINT;
