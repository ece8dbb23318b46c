-- The events table (DuckDB).
-- migrate:up
CREATE SEQUENCE event_ids;
CREATE TABLE events (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_ids'),
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- migrate:down
DROP TABLE events;
DROP SEQUENCE event_ids;
