DROP TABLE search_index_state;
DROP TABLE message_search;
