//! The delivery log: its rows and filters, redelivery and the test event.

use leptos::prelude::*;

use crate::dto::DeliveriesView;

#[cfg(feature = "ssr")]
use super::ssr;

/// The delivery log, newest first, filtered by status, hook and event (empty: any).
#[server(prefix = "/_sfn", endpoint = "deliveries")]
pub async fn list_deliveries(
    app_id: i64,
    status: String,
    hook_id: String,
    event_id: String,
) -> Result<Option<DeliveriesView>, ServerFnError> {
    use crate::domain::{AppId, DeliveryStatus, HookId};
    use crate::dto::{hook_type_label, DeliveryView};
    use crate::store::ListFilter;
    use crate::ui::server_fns::ssr::{internal, require_app};

    let app_id = AppId(app_id);
    let Some((state, _, app)) = require_app(app_id).await? else {
        return Ok(None);
    };
    let filter = ListFilter {
        hook_id: Some(hook_id).filter(|h| !h.is_empty()).map(HookId::from),
        event_id: Some(event_id).filter(|e| !e.is_empty()),
        status: status.parse::<DeliveryStatus>().ok(),
        limit: 100,
        ..ListFilter::default()
    };
    let rows = state
        .db
        .deliveries(app_id, &filter)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|d| DeliveryView {
            status: d.status.as_str().to_string(),
            id: d.id.0,
            hook_id: d.hook_id.to_string(),
            hook_type: d.hook_type.as_str().to_string(),
            event_id: d.event_id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_error: d.last_error,
            latency_ms: d.latency_ms,
            payload_preview: d.payload_preview,
            accepted_at: d.accepted_at.0,
        })
        .collect();
    let hooks = crate::hooks::store::list(&state.db, app_id)
        .await
        .map_err(internal)?
        .iter()
        .map(|h| {
            (
                h.id.clone(),
                format!("{} {}", hook_type_label(&h.hook_type), ssr::target_of(h)),
            )
        })
        .collect();
    Ok(Some(DeliveriesView {
        app_id: app_id.0,
        app_name: app.name,
        rows,
        hooks,
    }))
}

/// Redelivers deliveries by id (the same store function as `POST /deliveries/redeliver`).
#[server(prefix = "/_sfn", endpoint = "redeliver")]
pub async fn redeliver(
    app_id: i64,
    ids: Option<Vec<i64>>,
    back: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::domain::{AppId, DeliveryId};
    use crate::store::log::REDELIVER_MAX_IDS;
    use crate::ui::server_fns::ssr::internal;

    let Some((state, app)) = ssr::user_and_app(AppId(app_id)).await else {
        return Ok(());
    };
    let log = format!("/apps/{}/deliveries", app.id);
    let back = back
        .filter(|b| b.starts_with(&log) && !b.contains("//"))
        .unwrap_or(log);
    let ids: Vec<DeliveryId> = ids
        .unwrap_or_default()
        .into_iter()
        .map(DeliveryId)
        .collect();
    let count = if ids.is_empty() || ids.len() > REDELIVER_MAX_IDS {
        0
    } else {
        let now = crate::domain::Millis::now();
        let n = state
            .db
            .redeliver_ids(app.id, &ids, now)
            .await
            .map_err(internal)?;
        state.engine.wake();
        n
    };
    let back = strip_notices(&back);
    let sep = if back.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!("{back}{sep}redelivered={count}"));
    Ok(())
}

/// `back` without the notices a previous action added.
#[cfg(feature = "ssr")]
fn strip_notices(back: &str) -> String {
    let Some((path, query)) = back.split_once('?') else {
        return back.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("redelivered=") && !p.starts_with("sent=") && !p.is_empty())
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Sends the test event through the real ingest (it reaches every enabled hook).
#[server(prefix = "/_sfn", endpoint = "send_test_event")]
pub async fn send_test_event(app_id: i64) -> Result<(), ServerFnError> {
    use crate::ui::server_fns::ssr::internal;

    let Some((state, app)) = ssr::user_and_app(crate::domain::AppId(app_id)).await else {
        return Ok(());
    };
    let now = crate::store::rfc3339(crate::domain::Millis::now());
    let event = crate::delivery::event::test_event(&app.name, &now);
    state
        .engine
        .accept(app.id, vec![event])
        .await
        .map_err(internal)?;
    leptos_axum::redirect(&format!("/apps/{}/deliveries?sent=1", app.id));
    Ok(())
}
