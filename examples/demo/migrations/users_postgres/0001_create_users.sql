-- The users table (PostgreSQL, when USERS_POSTGRES_DSN is set).
-- IF NOT EXISTS: adopts a database the demo made before it had migrations.
-- migrate:up
CREATE TABLE IF NOT EXISTS users (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- migrate:down
DROP TABLE users;
