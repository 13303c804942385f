DROP TABLE waiting_backfill;
