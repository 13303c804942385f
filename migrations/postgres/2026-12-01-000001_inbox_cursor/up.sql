-- The per-user stream's catch-up: a client reconnecting with an inbox cursor gets the rooms
-- that changed since, which includes rooms where its own read marker moved (read on another
-- device). `last_activity_at` covers every other change (every timeline entry and an order
-- moving to another customer set it); this covers the marker. Not indexed, so moving a marker
-- stays a HOT update on Postgres; the catch-up reads it through room_members_user_idx.
ALTER TABLE room_members ADD COLUMN read_at BIGINT NOT NULL DEFAULT 0;
