-- As on Postgres: a new response-time clock enters no index of its own; the sweep finds the
-- clocks without a deadline by reading rooms_awaiting_staff (the rooms waiting now).
DROP INDEX rooms_awaiting_staff_unscheduled_idx;
