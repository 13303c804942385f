DROP INDEX user_names_search_idx;
DROP INDEX orders_search_idx;
-- The extension stays: other schemas or tools of the database may use it.
