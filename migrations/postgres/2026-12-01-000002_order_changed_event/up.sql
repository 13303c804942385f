-- A change of a room's order (its reference, or its customer) is a room event too: members see
-- the room as it is now, and room lists and inbox catch-ups see activity.
ALTER TABLE room_events DROP CONSTRAINT room_events_kind_check;
ALTER TABLE room_events ADD CONSTRAINT room_events_kind_check
    CHECK (kind IN ('closed', 'reopened', 'member_added', 'member_removed', 'order_changed',
                    'message_edited', 'message_deleted'));
