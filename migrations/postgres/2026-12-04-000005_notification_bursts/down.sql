DROP TABLE notification_bursts;
-- Members to notify of unread messages once they have been away long enough
-- (NOTIFY_DELAY_SECS): one row per (room, member) and burst, written in the transaction of
-- the burst's first message, so a notification owed is never lost with a node. Later messages
-- of the burst find the row and leave it: one notification per burst.
CREATE TABLE notification_schedule (
    room_id BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    -- The burst's first message: a member who read it since is not notified.
    first_seq BIGINT NOT NULL,
    -- When it was stored (microseconds).
    since BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX notification_schedule_since ON notification_schedule (since);
