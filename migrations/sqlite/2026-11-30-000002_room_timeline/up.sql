-- The room's timeline: every durable change of a room other than a new message (closed,
-- reopened, an admin assigned or unassigned, a message edited or deleted) takes the room's next
-- seq, in the transaction that makes the change, so that messages and these events share one
-- gapless sequence and a client resuming with `since` replays both. `frame` is the event's
-- frame as clients receive it (JSON, seq included), so a replay sends what a live client got.
CREATE TABLE room_events (
    room_id    BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed',
                                             'message_edited', 'message_deleted')),
    -- The message an edit or delete is about: a delete rewrites the frames of its earlier
    -- edits to the tombstone, so no replay carries deleted words.
    message_id BIGINT,
    frame      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
);
