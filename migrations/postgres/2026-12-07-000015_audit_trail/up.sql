-- The audit trail (issue 29): what staff and the platform did that changed or revealed data —
-- who (the token's subject and role), what, to which room / user / message / webhook endpoint,
-- when, and the request it came with. Never the words of a message. Written in the
-- transaction of the action it records, so an action that committed has its entry.
CREATE TABLE audit_entries (
    id                  BIGSERIAL PRIMARY KEY,
    at                  BIGINT NOT NULL,
    actor_id            TEXT NOT NULL,
    actor_role          TEXT NOT NULL CHECK (actor_role IN ('client', 'admin', 'service')),
    action              TEXT NOT NULL,
    room_id             BIGINT,
    user_id             TEXT,
    message_id          BIGINT,
    webhook_endpoint_id BIGINT,
    request_id          TEXT
);
-- The list pages by id, newest first; its filters each have an index that walks the same order.
CREATE INDEX audit_entries_at_idx ON audit_entries (at, id);
CREATE INDEX audit_entries_actor_idx ON audit_entries (actor_id, id);
CREATE INDEX audit_entries_room_idx ON audit_entries (room_id, id) WHERE room_id IS NOT NULL;
CREATE INDEX audit_entries_user_idx ON audit_entries (user_id, id) WHERE user_id IS NOT NULL;
