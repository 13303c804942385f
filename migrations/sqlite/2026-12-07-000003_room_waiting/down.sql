ALTER TABLE chat_rooms DROP COLUMN waiting_since;
ALTER TABLE chat_rooms DROP COLUMN waiting_for;
