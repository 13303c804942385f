-- Message search (issue 27): an FTS5 table whose rowid is the message id, holding the words of
-- the message and its file names as the service split and lower-cased them. `unicode61`
-- keeps accents (`remove_diacritics 0`), as Postgres' `simple` configuration does, so a query
-- means the same on both backends (tests/search_language.rs). Written in the transaction that
-- stores, edits or deletes the message; older messages are indexed by the search indexer.
CREATE VIRTUAL TABLE message_search USING fts5 (
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- FTS5 tables take no foreign key: a message that goes (its order deleted) takes its row along.
CREATE TRIGGER message_search_follows_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = old.id;
END;

-- As on Postgres; `language` is always `simple` here (FTS5 has no stemmers).
CREATE TABLE search_index_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    language      TEXT NOT NULL,
    indexed_below BIGINT NOT NULL,
    rewrite       BOOLEAN NOT NULL,
    -- Seals search cursors (HMAC), so a cursor altered or made up is refused; random, made here.
    cursor_key    TEXT NOT NULL
);
INSERT INTO search_index_state (id, language, indexed_below, rewrite, cursor_key)
VALUES (1, 'simple', 0, FALSE, lower(hex(randomblob(32))));
