-- The dashboard's "Recent events" (store/sqlite/log.rs) reads an app's newest events: through
-- this index it reads those rows only, instead of sorting all of the app's kept events on
-- every page load. accepted_at only grows, so each ingest appends at the index's end.
CREATE INDEX events_by_app_accepted ON events (app_id, accepted_at);
