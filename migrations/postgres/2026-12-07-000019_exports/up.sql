-- Exports of a person's data (issue 29): a job every node's exporter may take (`lease_until`
-- says how long the node that took it holds it), an archive in the attachment store once
-- ready, and the random key its download link carries. The archive is deleted when the link
-- expires; the row stays as the record that an export was made.
CREATE TABLE exports (
    id           BIGSERIAL PRIMARY KEY,
    user_id      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ready', 'failed', 'expired')),
    lease_until  BIGINT,
    finished_at  BIGINT,
    expires_at   BIGINT,
    object_key   TEXT,
    size_bytes   BIGINT,
    download_key TEXT NOT NULL,
    error        TEXT
);
CREATE INDEX exports_user_idx ON exports (user_id, id);
CREATE INDEX exports_open_idx ON exports (id) WHERE status IN ('pending', 'running', 'ready');
