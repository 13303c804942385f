-- Rooms that close themselves, as on Postgres: the policy that closed a room, and the sweep's
-- index of the open rooms by activity.
ALTER TABLE chat_rooms ADD COLUMN closed_by_policy TEXT
    CHECK (closed_by_policy IN ('idle', 'order_done'));
CREATE INDEX chat_rooms_open_activity_idx ON chat_rooms (activity_bucket, id) WHERE status = 'open';
