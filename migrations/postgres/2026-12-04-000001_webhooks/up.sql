-- Webhooks from a transactional outbox. An event's rows (one per endpoint that takes its type)
-- are inserted in the transaction of the change they report, so no change commits without its
-- events and no event exists for a change that rolled back. Dispatchers on every node deliver
-- them; a queue is one (endpoint, room): its rows go out in id order, one lease at a time.
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Comma-separated event types; empty means every type.
    event_types TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_outbox (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    room_id BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The delivery's exact body (the signature covers these bytes).
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    first_failed_at BIGINT,
    last_status INTEGER,
    last_error TEXT,
    -- Set when retries ran out: a dead letter, out of its queue until replayed.
    dead_at BIGINT
);
CREATE INDEX webhook_outbox_queue ON webhook_outbox (endpoint_id, room_id, id) WHERE dead_at IS NULL;
CREATE INDEX webhook_outbox_dead ON webhook_outbox (endpoint_id, id) WHERE dead_at IS NOT NULL;

-- Which node delivers a queue ("endpoint_id:room_id") until when. Only one node holds a
-- queue's lease, so its events go out in order and once; a lease that ran out (its node died)
-- is taken over.
CREATE TABLE webhook_leases (
    queue TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
