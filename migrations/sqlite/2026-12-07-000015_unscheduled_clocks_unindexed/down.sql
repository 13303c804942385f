CREATE INDEX rooms_awaiting_staff_unscheduled_idx ON rooms_awaiting_staff (clock, room_id)
    WHERE due_at IS NULL AND timed;
