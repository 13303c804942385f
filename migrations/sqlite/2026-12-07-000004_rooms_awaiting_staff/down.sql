DROP TRIGGER chat_rooms_awaiting_staff;
DROP TABLE rooms_awaiting_staff;
