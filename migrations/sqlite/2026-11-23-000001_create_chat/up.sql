-- SQLite ids must be exactly INTEGER PRIMARY KEY (the rowid) to be assigned automatically.
-- Times are microseconds since the Unix epoch (UTC) in BIGINT: the same on Postgres and
-- SQLite, totally ordered, and cheap to use as a paging cursor.

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    reference   TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX orders_customer_idx ON orders (customer_id);

CREATE TABLE chat_rooms (
    id               INTEGER PRIMARY KEY,
    order_id         TEXT NOT NULL UNIQUE REFERENCES orders (id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    last_seq         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    closed_at        BIGINT,
    closed_by        TEXT
);
CREATE INDEX chat_rooms_activity_idx ON chat_rooms (last_activity_at DESC, id DESC);

CREATE TABLE room_members (
    room_id       BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('client', 'admin')),
    assigned      BOOLEAN NOT NULL DEFAULT FALSE,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    joined_at     BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id, assigned);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    room_id     BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    sender_id   TEXT NOT NULL,
    sender_role TEXT NOT NULL CHECK (sender_role IN ('client', 'admin')),
    content     TEXT NOT NULL,
    client_id   TEXT,
    created_at  BIGINT NOT NULL,
    CONSTRAINT messages_room_seq_key UNIQUE (room_id, seq),
    CONSTRAINT messages_room_sender_client_key UNIQUE (room_id, sender_id, client_id)
);

-- Display names as last seen in token claims; users themselves live in the main platform.
CREATE TABLE user_names (
    user_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
