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
use crate::delivery::IngestError;
use crate::server::AppState;
use crate::store::deliveries::{self as outbox, DeliveryRow, ListFilter};
use crate::store::{now_millis, rfc3339};

/// Largest `POST /events` body: 1,000 events of up to 16 KB each on average.
pub const EVENTS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Reads a JSON body (any value) with the events limit.
fn json_body(op: &str, body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_big(op, EVENTS_BODY_LIMIT)
        } else {
            ApiError::input(op, format!("cannot read the request body: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::input(op, format!("invalid JSON in the request body: {e}")))
}

pub async fn post_events(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let op = "SendEvents";
    let at = |e: ApiError| e.at(auth.started);
    let body = json_body(op, body).map_err(at)?;
    let now = rfc3339(now_millis());
    let events =
        parse_batch(body, &now).map_err(|e| at(ApiError::field(op, e.field, e.message)))?;
    let accepted = state
        .engine
        .accept(auth.app.id, events)
        .await
        .map_err(|e| match e {
            IngestError::Stopping => at(ApiError::unavailable(op, e.to_string())),
            IngestError::Store(cause) => at(ApiError::internal(op, cause)),
        })?;
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

/// The statuses `GET /deliveries?status=` takes.
pub const STATUSES: [&str; 5] = ["pending", "retrying", "delivered", "failed", "dropped"];

/// A delivery as the API and the dashboard show it.
pub fn delivery_json(d: &DeliveryRow) -> Value {
    let status = if d.status == outbox::PENDING && d.attempts > 0 {
        "retrying"
    } else {
        d.status.as_str()
    };
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "hook_id": d.hook_id,
        "hook_type": d.hook_type,
        "status": status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "size": d.size,
        "created_at": rfc3339(d.accepted_at),
        "completed_at": d.done_at.map(rfc3339),
        "next_attempt_at": (d.status == outbox::PENDING).then(|| rfc3339(d.next_at)),
        "latency_ms": d.latency_ms,
        "payload_preview": d.payload_preview,
    })
}

pub async fn list_deliveries(
    auth: ServerAuth,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let op = "ListDeliveries";
    let at = |e: ApiError| e.at(auth.started);
    let Query(q) = query.map_err(|e| at(ApiError::input(op, e.body_text())))?;
    let number = |name: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::field(op, name, "must be a positive integer"))
            })
            .transpose()
    };
    let limit = number("limit", &q.limit)
        .map_err(at)?
        .unwrap_or(50)
        .min(500);
    let before = number("before", &q.before).map_err(at)?;
    let status = q.status.filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(at(ApiError::field(
                op,
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            )));
        }
    }
    let filter = ListFilter {
        hook_id: q.hook_id.filter(|s| !s.is_empty()),
        event_id: q.event_id.filter(|s| !s.is_empty()),
        status,
        before,
        limit,
    };
    let rows = outbox::list(&state.db, auth.app.id, &filter)
        .await
        .map_err(|e| at(ApiError::internal(op, e)))?;
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
    let op = "Redeliver";
    let at = |e: ApiError| e.at(auth.started);
    let body = super::json_object(op, body).map_err(at)?;
    let now = now_millis();
    let count = if let Some(ids) = body.get("ids") {
        let ids: Vec<i64> = serde_json::from_value(ids.clone()).map_err(|_| {
            at(ApiError::field(
                op,
                "ids",
                "must be an array of delivery ids",
            ))
        })?;
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(at(ApiError::field(op, "ids", "must hold 1 to 10000 ids")));
        }
        outbox::redeliver_ids(&state.db, auth.app.id, &ids, now).await
    } else {
        let hook_id = body
            .get("hook_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                at(ApiError::field(
                    op,
                    "hook_id",
                    "give either ids, or hook_id with since and until",
                ))
            })?;
        let time = |name: &str| -> Result<i64, ApiError> {
            body.get(name)
                .and_then(Value::as_str)
                .and_then(|s| {
                    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                .ok_or_else(|| at(ApiError::field(op, name, "must be an RFC 3339 timestamp")))
        };
        let (since, until) = (time("since")?, time("until")?);
        outbox::redeliver_range(&state.db, auth.app.id, hook_id, since, until, now).await
    }
    .map_err(|e| at(ApiError::internal(op, e)))?;
    if count > 0 {
        state.engine.wake();
    }
    tracing::info!(app_id = auth.app.id, count, "deliveries redelivered");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "redelivered": count, "duration": auth.started.duration() })),
    ))
}
