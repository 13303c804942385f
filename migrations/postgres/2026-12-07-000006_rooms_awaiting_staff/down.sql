DROP TRIGGER chat_rooms_awaiting_staff ON chat_rooms;
DROP FUNCTION track_rooms_awaiting_staff();
DROP TABLE rooms_awaiting_staff;
