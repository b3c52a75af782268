//! `POST /events` (ingest), `GET /deliveries` (the delivery log) and
//! `POST /deliveries/redeliver`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::delivery::event::parse_batch;
use crate::domain::{DeliveryId, DeliveryStatus, HookId, Millis};
use crate::server::AppState;
use crate::store::log::REDELIVER_MAX_IDS;
use crate::store::{parse_rfc3339, rfc3339, DeliveryRow, ListFilter};

/// Largest `POST /events` body: 1,000 events of up to 16 KB each on average.
pub const EVENTS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Reads a JSON body (any value) with the events limit.
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_big(EVENTS_BODY_LIMIT)
        } else {
            ApiError::input(format!("cannot read the request body: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::input(format!("invalid JSON in the request body: {e}")))
}

pub async fn post_events(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = json_body(body)?;
    let now = rfc3339(Millis::now());
    let events = parse_batch(body, &now).map_err(|e| ApiError::field(e.field, e.message))?;
    let accepted = state.engine.accept(auth.app.id, events).await?;
    let events: Vec<Value> = accepted
        .iter()
        .map(|a| json!({ "id": a.id, "deliveries": a.deliveries, "duplicate": a.duplicate }))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "events": events, "duration": auth.started.duration() })),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    hook_id: Option<String>,
    status: Option<String>,
    event_id: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

/// A delivery as the API and the dashboard show it.
pub fn delivery_json(d: &DeliveryRow) -> Value {
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "hook_id": d.hook_id,
        "hook_type": d.hook_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "size": d.size,
        "created_at": rfc3339(d.accepted_at),
        "completed_at": d.done_at.map(rfc3339),
        "next_attempt_at": (!d.status.is_finished()).then(|| rfc3339(d.next_at)),
        "latency_ms": d.latency_ms,
        "payload_preview": d.payload_preview,
    })
}

pub async fn list_deliveries(
    auth: ServerAuth,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::input(e.body_text()))?;
    let number = |name: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::field(name, "must be a positive integer"))
            })
            .transpose()
    };
    let limit = number("limit", &q.limit)?.unwrap_or(50).min(500);
    let before = number("before", &q.before)?;
    let status = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<DeliveryStatus>())
        .transpose()
        .map_err(|_| {
            let all: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::field("status", format!("must be one of {}", all.join(", ")))
        })?;
    let filter = ListFilter {
        hook_id: q.hook_id.filter(|s| !s.is_empty()).map(HookId),
        event_id: q.event_id.filter(|s| !s.is_empty()),
        status,
        before: before.map(DeliveryId),
        limit,
    };
    let rows = state.db.deliveries(auth.app.id, &filter).await?;
    let deliveries: Vec<Value> = rows.iter().map(delivery_json).collect();
    Ok(Json(
        json!({ "deliveries": deliveries, "duration": auth.started.duration() }),
    ))
}

pub async fn redeliver(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = super::json_object(body)?;
    let now = Millis::now();
    let count = if let Some(ids) = body.get("ids") {
        let ids: Vec<DeliveryId> = serde_json::from_value(ids.clone())
            .map_err(|_| ApiError::field("ids", "must be an array of delivery ids"))?;
        if ids.is_empty() || ids.len() > REDELIVER_MAX_IDS {
            return Err(ApiError::field(
                "ids",
                format!("must hold 1 to {REDELIVER_MAX_IDS} ids"),
            ));
        }
        state.db.redeliver_ids(auth.app.id, &ids, now).await
    } else {
        let hook_id = body
            .get("hook_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::field(
                    "hook_id",
                    "give either ids, or hook_id with since and until",
                )
            })?;
        let time = |name: &str| -> Result<Millis, ApiError> {
            body.get(name)
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                .ok_or_else(|| ApiError::field(name, "must be an RFC 3339 timestamp"))
        };
        let (since, until) = (time("since")?, time("until")?);
        let hook_id = HookId::from(hook_id);
        state
            .db
            .redeliver_range(auth.app.id, &hook_id, since, until, now)
            .await
    }?;
    if count > 0 {
        state.engine.wake();
    }
    tracing::info!(app_id = %auth.app.id, count, "deliveries redelivered");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "redelivered": count, "duration": auth.started.duration() })),
    ))
}
