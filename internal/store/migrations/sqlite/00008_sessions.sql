-- +goose Up
-- The web console's sessions live here, not in their cookies: a cookie holds a
-- random token and this table only its SHA-256, so a copy of the database
-- opens no session, and deleting a row ends its session on every replica at
-- once. A session counts while it has not expired and the API key that opened
-- it (api_key_id) is not revoked. user_agent and address are what the browser
-- said when it signed in, cut, to tell sessions apart in a listing.
--
-- The console_session_key setting, which sealed sessions into cookies before,
-- is read by nothing now; a database that has it keeps it, unused.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB NOT NULL UNIQUE,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    api_key_id   INTEGER NOT NULL REFERENCES api_keys (id),
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    user_agent   TEXT NOT NULL,
    address      TEXT NOT NULL
);

CREATE INDEX sessions_account_id ON sessions (account_id);
CREATE INDEX sessions_api_key_id ON sessions (api_key_id);
-- For the periodic purge of ended sessions.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
