//! The app page's recent events: where each came from and how many deliveries it has.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many events the app page lists.
pub const RECENT_EVENTS: i64 = 50;

/// An accepted event as the app page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentEventView {
    pub id: String,
    pub event_type: String,
    pub cid: Option<String>,
    /// The stored source name (`api`, `chat`).
    pub source: String,
    /// What people read: `API`, `Chat`.
    pub source_label: String,
    pub accepted_at: i64,
    pub deliveries: i64,
    /// The delivery log filtered to this event.
    pub log_url: String,
}

/// The app's latest events, newest first (none for an app the user may not see).
#[server(prefix = "/_sfn", endpoint = "recent_events")]
pub async fn recent_events(app_id: i64) -> Result<Vec<RecentEventView>, ServerFnError> {
    use crate::ui::server_fns::ssr::{internal, require_app};

    let Some((state, _, app)) = require_app(crate::domain::AppId(app_id)).await? else {
        return Ok(Vec::new());
    };
    let events = state
        .db
        .recent_events(app.id, RECENT_EVENTS)
        .await
        .map_err(internal)?;
    events
        .into_iter()
        .map(|e| {
            let query =
                serde_urlencoded::to_string([("event_id", e.id.as_str())]).map_err(internal)?;
            Ok(RecentEventView {
                log_url: format!("/apps/{}/deliveries?{query}", app.id),
                id: e.id,
                event_type: e.event_type,
                cid: e.cid,
                source: e.source.as_str().to_string(),
                source_label: e.source.label().to_string(),
                accepted_at: e.accepted_at.0,
                deliveries: e.deliveries,
            })
        })
        .collect()
}
