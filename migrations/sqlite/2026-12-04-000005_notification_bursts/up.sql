-- One row per room and burst instead of one per member: the message batch pays one index
-- probe per room (the per-member rows, found by joining orders and members in the batch's
-- statement, cost about a quarter of `saturate`'s throughput), and the notifier finds the
-- members when the burst is due. A sender is not notified of a burst: its read marker moved
-- past the burst's first message when it wrote.
DROP TABLE notification_schedule;
CREATE TABLE notification_bursts (
    room_id BIGINT PRIMARY KEY,
    -- The burst's first message: a member who read it since is not notified.
    first_seq BIGINT NOT NULL,
    -- When it was stored (microseconds).
    since BIGINT NOT NULL
);
CREATE INDEX notification_bursts_since ON notification_bursts (since);
