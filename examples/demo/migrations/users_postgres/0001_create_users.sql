-- The users table (PostgreSQL, when USERS_POSTGRES_DSN is set).
-- migrate:up
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- migrate:down
DROP TABLE users;
