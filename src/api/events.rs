//! `POST /events` (ingest), `GET /deliveries` (the delivery log) and
//! `POST /deliveries/redeliver`.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::ServerAuth;
use super::error::ApiError;
use crate::delivery::event::{parse_batch, BatchError};
use crate::domain::{DeliveryId, DeliveryStatus, HookId, HookType, Millis};
use crate::server::AppState;
use crate::store::log::REDELIVER_MAX_IDS;
use crate::store::{parse_rfc3339, rfc3339, DeliveryRow, ListFilter};

/// Largest `POST /events` body: 1,000 events of up to 16 KB each on average.
pub const EVENTS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Reads the body of a `POST /events` within the events limit: too big is 413/22 (refused by
/// its `Content-Length` before a byte is read), too slow is 408.
async fn read_body(body: Body, declared: Option<usize>) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|n| n > EVENTS_BODY_LIMIT) {
        return Err(ApiError::too_big(EVENTS_BODY_LIMIT));
    }
    axum::body::to_bytes(body, EVENTS_BODY_LIMIT)
        .await
        .map_err(|e| {
            let source = std::error::Error::source(&e);
            if crate::http_server::is_body_timeout(&e) {
                ApiError::timeout("the request body did not arrive in time (--body-timeout)")
            } else if source.is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
                ApiError::too_big(EVENTS_BODY_LIMIT)
            } else {
                ApiError::input(format!("cannot read the request body: {e}"))
            }
        })
}

/// `POST /events`' answer: one entry per event, in the order sent. (Fields of this and the
/// answers below in ASCII order, the order they have always had on the wire.)
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsResponse {
    /// How long the request took, e.g. `1.84ms`.
    pub duration: String,
    pub events: Vec<AcceptedEvent>,
}

/// One accepted event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedEvent {
    /// Deliveries created (one per matching hook; 0 for a duplicate).
    pub deliveries: usize,
    /// The app had already sent an event with this id: it was not stored again.
    pub duplicate: bool,
    /// The event's id (generated when the event had none).
    pub id: String,
}

/// Accepts one event or a batch: the answer comes once the events and their deliveries are
/// committed.
#[utoipa::path(
    post,
    path = "/events",
    operation_id = "SendEvents",
    tag = "events",
    request_body(content = super::openapi::SendEventsRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The events were accepted", body = EventsResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn post_events(
    auth: ServerAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EventsResponse>), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    // room for the body before a byte of it is read: bounds the memory of ingest
    let _room = state
        .events_memory
        .admit(declared, EVENTS_BODY_LIMIT)
        .await?;
    let body = read_body(body, declared).await?;
    let now = rfc3339(Millis::now());
    let events = parse_batch(&body, &now).map_err(|e| match e {
        BatchError::Json(_) => ApiError::input(e.to_string()),
        BatchError::Event(e) => ApiError::field(e.field, e.message),
    })?;
    drop(body);
    let accepted = state.engine.accept(auth.app.id, events).await?;
    let events = accepted
        .into_iter()
        .map(|a| AcceptedEvent {
            deliveries: a.deliveries,
            duplicate: a.duplicate,
            id: a.id,
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(EventsResponse {
            duration: auth.started.duration(),
            events,
        }),
    ))
}

/// The filters of `GET /deliveries` (read as text, checked by the handler).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this hook's deliveries.
    hook_id: Option<String>,
    /// Only deliveries in this state.
    #[param(value_type = Option<DeliveryStatus>)]
    status: Option<String>,
    /// Only this event's deliveries.
    event_id: Option<String>,
    /// At most this many (default 50, at most 500).
    #[param(value_type = Option<i64>, minimum = 1)]
    limit: Option<String>,
    /// Only deliveries with a smaller id (the next page: the last id of this one).
    #[param(value_type = Option<i64>, minimum = 1)]
    before: Option<String>,
}

/// A delivery as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub attempts: i64,
    /// When it was delivered, failed or dropped (RFC 3339).
    #[schema(required = true)]
    pub completed_at: Option<String>,
    /// When its event was accepted (RFC 3339).
    pub created_at: String,
    pub event_id: String,
    pub event_type: String,
    #[schema(value_type = String)]
    pub hook_id: HookId,
    pub hook_type: HookType,
    #[schema(value_type = i64)]
    pub id: DeliveryId,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true)]
    pub latency_ms: Option<i64>,
    /// When it is due next, while it is not finished (RFC 3339).
    #[schema(required = true)]
    pub next_attempt_at: Option<String>,
    /// The first 200 characters of the event JSON.
    #[schema(required = true)]
    pub payload_preview: Option<String>,
    /// The size of the delivered body in bytes, once known.
    #[schema(required = true)]
    pub size: Option<i64>,
    pub status: DeliveryStatus,
}

impl From<&DeliveryRow> for Delivery {
    fn from(d: &DeliveryRow) -> Self {
        Self {
            attempts: d.attempts,
            completed_at: d.done_at.map(rfc3339),
            created_at: rfc3339(d.accepted_at),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            hook_id: d.hook_id.clone(),
            hook_type: d.hook_type,
            id: d.id,
            last_error: d.last_error.clone(),
            latency_ms: d.latency_ms,
            next_attempt_at: (!d.status.is_finished()).then(|| rfc3339(d.next_at)),
            payload_preview: d.payload_preview.clone(),
            size: d.size,
            status: d.status,
        }
    }
}

/// `GET /deliveries`' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesResponse {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    pub duration: String,
}

/// `POST /deliveries/redeliver`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliverResponse {
    pub duration: String,
    /// How many deliveries were queued again.
    pub redelivered: u64,
}

/// The app's deliveries, newest first.
#[utoipa::path(
    get,
    path = "/deliveries",
    operation_id = "ListDeliveries",
    tag = "events",
    params(ListQuery),
    responses(
        (status = 200, description = "The deliveries", body = DeliveriesResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn list_deliveries(
    auth: ServerAuth,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveriesResponse>, ApiError> {
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
        hook_id: q.hook_id.filter(|s| !s.is_empty()).map(HookId::from),
        event_id: q.event_id.filter(|s| !s.is_empty()),
        status,
        before: before.map(DeliveryId),
        limit,
    };
    let rows = state.db.deliveries(auth.app.id, &filter).await?;
    Ok(Json(DeliveriesResponse {
        deliveries: rows.iter().map(Delivery::from).collect(),
        duration: auth.started.duration(),
    }))
}

/// Queues deliveries again: by id, or a hook's deliveries accepted in a time range.
#[utoipa::path(
    post,
    path = "/deliveries/redeliver",
    operation_id = "Redeliver",
    tag = "events",
    request_body(content = super::openapi::RedeliverRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The deliveries were queued again", body = RedeliverResponse),
        super::openapi::InputErrors,
        super::openapi::AuthErrors,
        super::openapi::ServerErrors,
    )
)]
pub async fn redeliver(
    auth: ServerAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<RedeliverResponse>), ApiError> {
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
        Json(RedeliverResponse {
            duration: auth.started.duration(),
            redelivered: count,
        }),
    ))
}
