-- The GIN index of message search without a pending list (`fastupdate = off`). With it on,
-- every few thousand inserts one message batch merged the list into the index inside its own
-- transaction, and that batch's acks waited: `hot-rooms` failed steps on 188 ms ack p99 spikes
-- and held 2,000–6,000 msg/s where the build before search held 6,000–10,000 (5 runs each,
-- interleaved). Direct updates cost a little on every insert and never a stall: 5,000–7,000.
-- The change is a catalog update; the pending list's entries are merged now.
ALTER INDEX message_search_words_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('message_search_words_idx'::regclass);
