-- The waiting-state trigger runs once per statement over the rows it changed (issue 28,
-- `hot-rooms`). Two costs of the row trigger it replaces, measured with pgbench on a batch of
-- 50 rooms that all change side (docs/PERFORMANCE.md, session 20):
--
-- * Who answered was found with "the room's newest staff message at or below its last seq".
--   Postgres may plan that as a bitmap scan of the room's whole history and a sort (it did,
--   for the plpgsql function's cached plan, until statistics caught up with a growing table):
--   every answer read every message of its room, 12 batches a second instead of 200. The answer
--   is one of the messages the changing statement added, so the lookup now reads only seqs
--   above the room's previous `last_seq`: a handful of rows whatever the plan.
-- * A row trigger runs its statements once per room; these run once per batch, as joins over
--   the statement's transition tables (about 15 % more batches a second than the row trigger
--   with the bounded lookup, and more than before response times were recorded).
--
-- Transition tables cannot go with `UPDATE OF column`: the trigger sees every update of
-- `chat_rooms` and each statement below keeps only the rows whose waiting side or time moved.
DROP TRIGGER chat_rooms_awaiting_staff ON chat_rooms;
DROP FUNCTION track_rooms_awaiting_staff();

CREATE FUNCTION track_rooms_awaiting_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Still waiting for staff, since a new time.
    UPDATE rooms_awaiting_staff AS a SET since = n.waiting_since
    FROM old_rooms AS o JOIN new_rooms AS n USING (id)
    WHERE a.room_id = n.id AND o.waiting_for = 'staff' AND n.waiting_for = 'staff'
      AND o.waiting_since IS DISTINCT FROM n.waiting_since;

    -- The clock stops: staff answered (the room waits for the customer now) or it closed.
    -- An answer is recorded whole: its wait (calendar time), who answered (the newest staff
    -- message among those the statement added), whether it came after the deadline; a late
    -- answer the sweep had not yet marked leaves its `sla_breached` event to the sweep
    -- (`announced` false).
    WITH stopped AS (
        DELETE FROM rooms_awaiting_staff AS a
        USING old_rooms AS o JOIN new_rooms AS n USING (id)
        WHERE a.room_id = n.id AND o.waiting_for = 'staff'
          AND n.waiting_for IS DISTINCT FROM 'staff'
        RETURNING a.*, o.last_seq AS seq_before, n.last_seq AS seq_after,
                  n.waiting_for = 'customer' AS answered, n.waiting_since AS answered_at,
                  coalesce(n.closed_at, n.last_activity_at) AS closed_at
    )
    INSERT INTO response_times (room_id, clock, timed, started_at, due_at, breached_at,
                                answered_at, answered_seq, ended_at, responder_id,
                                response_micros, announced)
    SELECT s.room_id, s.clock, s.timed, s.since, s.due_at,
           CASE WHEN s.answered AND s.breached_at IS NULL AND s.due_at < s.answered_at
                THEN s.answered_at ELSE s.breached_at END,
           CASE WHEN s.answered THEN s.answered_at END,
           CASE WHEN s.answered THEN s.seq_after END,
           CASE WHEN s.answered THEN s.answered_at ELSE s.closed_at END,
           CASE WHEN s.answered THEN
               (SELECT m.sender_id FROM messages AS m
                WHERE m.room_id = s.room_id AND m.seq > s.seq_before AND m.seq <= s.seq_after
                  AND m.sender_role = 'admin' AND NOT m.note
                ORDER BY m.seq DESC LIMIT 1)
           END,
           CASE WHEN s.answered THEN s.answered_at - s.since END,
           NOT (s.answered AND s.breached_at IS NULL AND coalesce(s.due_at < s.answered_at, FALSE))
    FROM stopped AS s;

    -- A clock starts: first_response when the room waited for no one (new or reopened),
    -- next_response when staff had spoken last.
    INSERT INTO rooms_awaiting_staff (room_id, since, clock)
    SELECT n.id, n.waiting_since,
           CASE WHEN o.waiting_for = 'customer' THEN 'next_response' ELSE 'first_response' END
    FROM old_rooms AS o JOIN new_rooms AS n USING (id)
    WHERE n.waiting_for = 'staff' AND o.waiting_for IS DISTINCT FROM 'staff'
    ON CONFLICT (room_id) DO UPDATE SET since = excluded.since, clock = excluded.clock,
        timed = TRUE, due_at = NULL, breached_at = NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER chat_rooms_awaiting_staff
    AFTER UPDATE ON chat_rooms
    REFERENCING OLD TABLE AS old_rooms NEW TABLE AS new_rooms
    FOR EACH STATEMENT
    EXECUTE FUNCTION track_rooms_awaiting_staff();
