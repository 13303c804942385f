-- Who rooms stored before issue 28 wait for (their `waiting_for` was left NULL by a catalog-only
-- migration): every node's backfill works down from `below` a range of room ids at a time, in
-- short transactions, until it reaches 0. Rooms created from now on are kept by the write path.
CREATE TABLE waiting_backfill (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO waiting_backfill (id, below) SELECT 1, coalesce(max(id), 0) + 1 FROM chat_rooms;
