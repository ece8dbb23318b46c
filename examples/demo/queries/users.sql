-- The demo's queries on the users database (SQLite or PostgreSQL).

-- name: recent_users
-- The 20 newest users, for the dashboard.
SELECT id, email, name FROM users ORDER BY id DESC LIMIT 20

-- name: count_users
SELECT COUNT(*) FROM users

-- name: list_users
SELECT id, email, name FROM users ORDER BY id

-- name: create_user
-- Adds a user; a duplicate email raises UniqueViolationError.
INSERT INTO users (email, name) VALUES (:email, :name) RETURNING id, email, name

-- name: get_user
SELECT id, email, name FROM users WHERE id = :id
