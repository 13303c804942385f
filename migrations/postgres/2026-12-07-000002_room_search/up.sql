-- Room search for staff (issue 27): find a room by its order id, order reference, customer id
-- or customer display name, by any part and with typos, through trigram indexes (pg_trgm).
--
-- pg_trgm is a trusted extension: a role that owns the database (or may create in it) can
-- install it. It goes into `public`, where the queries name it; where the service's role may
-- not create extensions, an administrator runs this line once before the upgrade.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- One expression per table, written exactly as the room list's filter writes it.
CREATE INDEX orders_search_idx ON orders
    USING GIN (lower(id || ' ' || coalesce(reference, '') || ' ' || customer_id) public.gin_trgm_ops);
CREATE INDEX user_names_search_idx ON user_names USING GIN (lower(name) public.gin_trgm_ops);
