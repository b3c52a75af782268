-- As migrations/sqlite/0006_robustness.sql.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
