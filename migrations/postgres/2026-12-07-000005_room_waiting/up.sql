-- Who a room waits for (issue 28): `staff` when the customer spoke last and no staff member
-- answered since, `customer` when staff spoke last, NULL when it waits for no one (nothing said
-- yet, or closed); `waiting_since` is when that began. The message batch keeps both in the
-- update it already makes to the room row. Neither column is indexed, so that update stays HOT
-- (heap-only: no index entry is written for it).
--
-- A catalog change only: rooms stored before wait for no one until their next message.
ALTER TABLE chat_rooms
    ADD COLUMN waiting_for   TEXT CHECK (waiting_for IN ('staff', 'customer')),
    ADD COLUMN waiting_since BIGINT,
    ADD CONSTRAINT chat_rooms_waiting_check CHECK ((waiting_for IS NULL) = (waiting_since IS NULL));
