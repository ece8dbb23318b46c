-- The events table (DuckDB).
-- IF NOT EXISTS: adopts a database the demo made before it had migrations.
-- migrate:up
CREATE SEQUENCE IF NOT EXISTS event_ids;
CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_ids'),
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- migrate:down
DROP TABLE events;
DROP SEQUENCE event_ids;
