-- name: add_user
INSERT INTO users (email) VALUES (:email) RETURNING id

-- name: count_users
SELECT COUNT(*) FROM users
