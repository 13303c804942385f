DROP INDEX erasures_running_idx;
