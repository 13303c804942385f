DROP TABLE user_names;
DROP TABLE messages;
DROP TABLE room_members;
DROP TABLE chat_rooms;
DROP TABLE orders;
