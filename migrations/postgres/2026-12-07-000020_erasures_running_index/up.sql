-- Every node's eraser looks for running erasures every second; the rows of finished ones stay
-- for ever (one per person erased), so the look reads an index of the running ones only.
CREATE INDEX erasures_running_idx ON erasures (requested_at) WHERE finished_at IS NULL;
