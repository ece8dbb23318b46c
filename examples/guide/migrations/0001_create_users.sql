-- The users table of the guide's examples.
-- migrate:up
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE
);

-- migrate:down
DROP TABLE users;
