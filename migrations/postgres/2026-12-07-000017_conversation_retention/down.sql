DROP TABLE storage_deletions;
DROP TABLE user_legal_holds;
DROP TABLE room_retention;
