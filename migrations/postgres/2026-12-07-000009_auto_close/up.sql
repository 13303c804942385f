-- Rooms that close themselves (issue 28, point 5). `closed_by_policy` names the policy that
-- closed a room (`closed_by` is then NULL): the customer's next message reopens such a room,
-- never one staff closed.
ALTER TABLE chat_rooms
    ADD COLUMN closed_by_policy TEXT CHECK (closed_by_policy IN ('idle', 'order_done'));

-- The sweep's way to the open rooms idle the longest, without walking the closed ones (most
-- of a big table). `activity_bucket` is already indexed, so an update that changes it is
-- not HOT anyway; `status` changes only at a close or reopen. The message batch's usual
-- update (same bucket, same status) stays HOT.
CREATE INDEX chat_rooms_open_activity_idx ON chat_rooms (activity_bucket, id) WHERE status = 'open';
