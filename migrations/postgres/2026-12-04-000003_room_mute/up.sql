-- A member may mute a room: no notification of its messages (the member still sees them live
-- and unread). Customers who never opened the room get a member row when they mute it.
ALTER TABLE room_members ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;
