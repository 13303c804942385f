DROP TABLE search_index_state;
DROP TRIGGER message_search_follows_delete;
DROP TABLE message_search;
