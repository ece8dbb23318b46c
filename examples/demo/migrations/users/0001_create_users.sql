-- The users table (SQLite). The PostgreSQL variant is in ../users_postgres/.
-- IF NOT EXISTS: adopts a database the demo made before it had migrations.
-- migrate:up
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- migrate:down
DROP TABLE users;
