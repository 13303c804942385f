-- Canned replies (issue 28): answers staff save once and insert into any conversation, shared
-- by every admin. Only the admins' REST API reads and writes them; a customer never sees one
-- until an admin sends its text as a message.
CREATE TABLE canned_replies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT NOT NULL,
    content    TEXT NOT NULL,
    -- What staff type to pick it (`shipping-delay`): lower-case, unique when set.
    shortcut   TEXT UNIQUE,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
