-- The staff report's percentiles on SQLite (no ordered-set aggregate): window functions over
-- the measured waits in order of wait, overall and per admin, by clock. These indexes give
-- each window its order, so no answer is sorted: 300,000 answers in about half a second.
CREATE INDEX response_times_clock_wait_idx
    ON response_times (clock, response_micros, ended_at) WHERE response_micros IS NOT NULL;
CREATE INDEX response_times_admin_wait_idx
    ON response_times (responder_id, clock, response_micros, ended_at)
    WHERE response_micros IS NOT NULL;
