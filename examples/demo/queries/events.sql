-- The demo's queries on the events database (DuckDB).

-- name: events_by_kind
SELECT kind, COUNT(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind

-- name: count_events
SELECT COUNT(*) FROM events

-- name: record_event
-- Records an event and returns its id.
INSERT INTO events (user_id, kind) VALUES (:user_id, :kind) RETURNING id

-- name: events_per_user
-- Event counts of the users whose id is at least :min_user_id (those on the dashboard).
SELECT user_id, COUNT(*) AS n FROM events WHERE user_id >= :min_user_id GROUP BY user_id
