-- A new response-time clock no longer enters an index of its own (issue 28, `hot-rooms`).
-- `rooms_awaiting_staff_unscheduled_idx` held every clock started and not yet given its
-- deadline: in a busy room nearly every message batch starts one (the customer writes after
-- staff answered), so every batch paid an index insert for a sweep that only runs when
-- response-time targets are set (off by default). The sweep now finds those clocks by reading
-- `rooms_awaiting_staff` itself: it holds only the rooms waiting for staff now. The index of
-- deadlines stays: a clock enters it only when the sweep gives it one.
DROP INDEX rooms_awaiting_staff_unscheduled_idx;
