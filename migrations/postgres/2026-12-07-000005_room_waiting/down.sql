ALTER TABLE chat_rooms DROP COLUMN waiting_for, DROP COLUMN waiting_since;
