-- Internal notes (issue 28, point 3): a message with `note` set is written by staff for staff.
-- It takes the room's next seq like any message, and every read made for a customer leaves it
-- out (history, previews, unread counts, search, live frames, resume); a room event about a
-- note (its edit, its deletion) is `staff_only` for the same reason. Catalog changes only: a
-- constant default needs no rewrite of either table.
ALTER TABLE messages ADD COLUMN note BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE room_events ADD COLUMN staff_only BOOLEAN NOT NULL DEFAULT FALSE;
