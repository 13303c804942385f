-- The room's timeline: every durable change of a room other than a new message (closed,
-- reopened, an admin assigned or unassigned; later: edits and deletes) takes the room's next
-- seq, in the transaction that makes the change, so that messages and these events share one
-- gapless sequence and a client resuming with `since` replays both. `frame` is the event as
-- clients receive it (a JSON `room` frame, seq included), so a replay sends what a live
-- client got.
CREATE TABLE room_events (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed')),
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
);
