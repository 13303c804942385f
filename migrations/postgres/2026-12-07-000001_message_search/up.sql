-- Message search (issue 27).
--
-- One row per message that can be found, written in the transaction that stores, edits or
-- deletes the message. A table of its own rather than a column of `messages`: created empty,
-- it takes no lock on `messages` that would stop sends, and its GIN index is built over
-- nothing. Messages stored before it existed (or by a node still on an older version) are
-- indexed afterwards by the search indexer, a thousand at a time (docs/OPERATIONS.md).
--
-- `words` holds the lexemes of the message's words and its file names, as
-- `to_tsvector(<language>, <words>)`, where the words were split and lower-cased by the
-- service (so the index does not depend on the database's locale) and <language> is the
-- text search configuration named below. Queries name the same configuration.
CREATE TABLE message_search (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    words      TSVECTOR NOT NULL
);
CREATE INDEX message_search_words_idx ON message_search USING GIN (words);

-- One row: the configuration every row of `message_search` was built with (`SEARCH_LANGUAGE`),
-- and the indexer's place: every message below `indexed_below` has its row (or is deleted).
-- `rewrite` means the language changed and rows below `indexed_below` are current, the rest
-- are to be rebuilt.
CREATE TABLE search_index_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    language      TEXT NOT NULL,
    indexed_below BIGINT NOT NULL,
    rewrite       BOOLEAN NOT NULL,
    -- Seals search cursors (HMAC), so a cursor altered or made up is refused; random, made here.
    cursor_key    TEXT NOT NULL
);
INSERT INTO search_index_state (id, language, indexed_below, rewrite, cursor_key)
VALUES (1, 'simple', 0, FALSE, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
