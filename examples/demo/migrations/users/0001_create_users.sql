-- The users table (SQLite). The PostgreSQL variant is in ../users_postgres/.
-- migrate:up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- migrate:down
DROP TABLE users;
