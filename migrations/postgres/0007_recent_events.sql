-- As migrations/sqlite/0009_recent_events.sql.
CREATE INDEX events_by_app_accepted ON events (app_id, accepted_at);
