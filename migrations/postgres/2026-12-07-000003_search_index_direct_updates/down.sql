ALTER INDEX message_search_words_idx SET (fastupdate = on);
