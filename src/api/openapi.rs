//! The API's OpenAPI 3.1 description, served at `GET /openapi.json` (no authentication).
//!
//! Assembled by `utoipa` from the handlers' own `#[utoipa::path]` annotations and response
//! types; this file adds what is the API's as a whole: the security schemes the SDKs use, the
//! error responses every operation shares, and the request bodies the handlers read leniently
//! (they take any JSON object and read the keys below, ignoring the others, as Stream does).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error::ErrorBody;

/// The document, assembled from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hookrelay API",
        description = "The REST API of Hookrelay: wire-compatible with Stream Chat's server SDKs \
            for app settings, event hooks and their checks (`/app`, `/check_*`, `/hook/events`), \
            plus Hookrelay's own ingest and delivery log (`/events`, `/deliveries`), and a \
            Stream-compatible chat source (`/users`, `/channels`, `/messages`). Every \
            operation but this document's needs all three credentials of a server-side SDK: \
            `?api_key=`, a server JWT in `Authorization` and `stream-auth-type: jwt`. Errors \
            are Stream's error JSON (`APIError`)."
    ),
    paths(
        super::app::get_app,
        super::app::update_app,
        super::app::hook_events,
        super::check::check_sqs,
        super::check::check_sns,
        super::check::check_kinesis,
        super::check::check_webhook,
        super::events::post_events,
        super::events::list_deliveries,
        super::events::redeliver,
        super::chat::upsert_users,
        super::chat::patch_users,
        super::chat::query_channel,
        super::chat::query_new_channel,
        super::chat::update_channel,
        super::chat::patch_channel,
        super::chat::delete_channel,
        super::chat::send_message,
        super::chat::update_message,
        super::chat::patch_message,
        super::chat::delete_message,
        openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    security(("api_key" = [], "jwt" = [], "stream_auth_type" = [])),
    tags(
        (name = "app", description = "App settings and event hooks (Stream-compatible)"),
        (name = "checks", description = "Connection checks of hook targets (Stream-compatible)"),
        (name = "events", description = "Ingest and the delivery log (Hookrelay's own)"),
        (name = "chat", description = "The chat source (Stream-compatible): users, channels, members and messages whose calls fire Stream's events"),
        (name = "meta", description = "This description"),
    )
)]
pub struct ApiDoc;

/// The three credentials of a server-side SDK, which every operation requires together.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "The app's API key, on every request.",
            ))),
        );
        components.add_security_scheme(
            "jwt",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "A server token: the raw JWT, without a `Bearer ` prefix (one is tolerated). \
                 HS256, payload `{\"server\": true}` (`exp`, `nbf` and `iat` are checked when \
                 present), signed with the app's API secret.",
            ))),
        );
        components.add_security_scheme(
            "stream_auth_type",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "stream-auth-type",
                "Always `jwt`.",
            ))),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}

/// This OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "GetOpenApi",
    tag = "meta",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object),
    )
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

/// The errors of authentication and budgets, which every authenticated operation may answer.
#[derive(IntoResponses)]
pub enum AuthErrors {
    /// The `api_key` is missing or unknown (code 2), or the token or `stream-auth-type` is
    /// missing or not valid (code 5; code 40 when the token has expired).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The app's request budget (or, for failed authentications, the client address's) is
    /// spent (code 9): try again after `Retry-After` seconds.
    #[response(
        status = 429,
        headers(("Retry-After" = u64, description = "Seconds until a request is allowed again"))
    )]
    TooManyRequests(ErrorBody),
}

/// The errors of an operation that reads a request body or query.
#[derive(IntoResponses)]
pub enum InputErrors {
    /// The input is not valid (code 4); `exception_fields` names the field.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The request body did not arrive in time (`--body-timeout`).
    #[response(status = 408)]
    RequestTimeout(ErrorBody),
    /// The request body is larger than the operation takes (code 22).
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
}

/// A channel, message or user named in the call does not exist (code 16).
#[derive(IntoResponses)]
pub enum NotFoundError {
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// The errors on the server's side, which any operation may answer.
#[derive(IntoResponses)]
pub enum ServerErrors {
    /// Something failed on the server (code -1); the cause is in the server's log.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// The server cannot take the request now (shutting down, or ingest refused while space
    /// or capacity is short; code -1): try again later.
    #[response(
        status = 503,
        headers(("Retry-After" = u64, description = "Seconds to wait, when known"))
    )]
    Unavailable(ErrorBody),
}

/// `PATCH /app`: only the keys present change; `null` is the same as absent, and any other
/// key (the read-only and zero-valued keys the Go SDK sends) is ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[allow(dead_code)] // a description of what `app::update_app` reads
pub struct UpdateAppRequest {
    /// The app's hooks: each entry creates (no `id`) or replaces (its `id`) a hook; hooks not
    /// listed are deleted, unless `explicit_event_hooks_deletion` is set (then only entries
    /// with `"delete": true` delete).
    event_hooks: Option<Vec<crate::hooks::EventHook>>,
    explicit_event_hooks_deletion: Option<bool>,
    enable_hook_payload_compression: Option<bool>,
    /// Legacy flat settings (Stream's single webhook, queue and topic).
    webhook_url: Option<String>,
    webhook_events: Option<Vec<String>>,
    sqs_url: Option<String>,
    sqs_key: Option<String>,
    sqs_secret: Option<String>,
    sns_topic_arn: Option<String>,
    sns_key: Option<String>,
    sns_secret: Option<String>,
    /// Any other key is ignored.
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /check_sqs`: `null`, `""` and an absent key are the same; with no `sqs_url`, the
/// app's legacy SQS settings are checked. A masked key or secret stands for the stored one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[allow(dead_code)] // a description of what `check::check_sqs` reads
pub struct CheckSqsRequest {
    sqs_url: Option<String>,
    sqs_key: Option<String>,
    sqs_secret: Option<String>,
    sqs_region: Option<String>,
    /// `keys`, `resource` or `role`.
    sqs_auth_type: Option<String>,
    sqs_role_arn: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /check_sns`: as `check_sqs`, for a topic.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[allow(dead_code)] // a description of what `check::check_sns` reads
pub struct CheckSnsRequest {
    sns_topic_arn: Option<String>,
    sns_key: Option<String>,
    sns_secret: Option<String>,
    sns_region: Option<String>,
    /// `keys`, `resource` or `role`.
    sns_auth_type: Option<String>,
    sns_role_arn: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /check_kinesis`: the stream is required (there is no legacy Kinesis setting).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[allow(dead_code)] // a description of what `check::check_kinesis` reads
pub struct CheckKinesisRequest {
    kinesis_stream_arn: Option<String>,
    kinesis_key: Option<String>,
    kinesis_secret: Option<String>,
    kinesis_region: Option<String>,
    /// `keys`, `resource` or `role`.
    kinesis_auth_type: Option<String>,
    kinesis_role_arn: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /check_webhook`: with no `webhook_url`, the app's legacy webhook is checked.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[allow(dead_code)] // a description of what `check::check_webhook` reads
pub struct CheckWebhookRequest {
    webhook_url: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /events`: one event, or a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a description of what `events::post_events` reads
pub enum SendEventsRequest {
    One(EventIn),
    Batch(EventBatch),
}

/// A batch of 1 to 1,000 events (`MAX_EVENTS_PER_CALL`); their ids must be unique within the call.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct EventBatch {
    #[schema(min_items = 1, max_items = 1000)]
    events: Vec<EventIn>,
}

/// One event: any JSON object with a `type`; it is delivered as sent, with `id` and
/// `created_at` filled in when absent.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct EventIn {
    /// The event type, e.g. `message.new`: at most 255 bytes, no spaces or control characters.
    #[serde(rename = "type")]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\s\u0000-\u001f\u007f-\u009f]+$"
    )]
    event_type: String,
    /// The event's id (a UUID v7 when absent): at most 255 bytes, no spaces or control
    /// characters. An id the app sent before is a duplicate.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\s\u0000-\u001f\u007f-\u009f]+$"
    )]
    id: Option<String>,
    /// When the event happened (RFC 3339; now when absent).
    #[serde(default)]
    created_at: Option<String>,
    /// The channel: the FIFO message group and the Kinesis partition key (also read from
    /// `channel.cid`).
    #[serde(default)]
    cid: Option<String>,
    /// The rest of the event, delivered as sent.
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// `POST /deliveries/redeliver`: either `ids`, or `hook_id` with `since` and `until` (the
/// hook's failed and dropped deliveries accepted in that range). Other keys are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a description of what `events::redeliver` reads
pub enum RedeliverRequest {
    ByIds(RedeliverIds),
    ByRange(RedeliverRange),
}

/// Deliveries by id: finished ones are queued again, pending ones are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RedeliverIds {
    /// 1 to 10,000 delivery ids (`REDELIVER_MAX_IDS`).
    #[schema(min_items = 1, max_items = 10000)]
    ids: Vec<i64>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// A hook's failed and dropped deliveries whose events were accepted from `since` to `until`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RedeliverRange {
    #[schema(min_length = 1)]
    hook_id: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    since: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    until: String,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str) -> Value {
        let doc: Value = serde_json::from_str(document()).unwrap();
        doc["components"]["schemas"][name].clone()
    }

    #[test]
    fn the_documented_limits_are_the_handlers() {
        assert_eq!(
            schema("EventBatch")["properties"]["events"]["maxItems"],
            crate::delivery::event::MAX_EVENTS_PER_CALL
        );
        assert_eq!(
            schema("RedeliverIds")["properties"]["ids"]["maxItems"],
            crate::store::log::REDELIVER_MAX_IDS
        );
        assert_eq!(
            schema("EventIn")["properties"]["type"]["maxLength"],
            crate::delivery::event::MAX_NAME_LEN
        );
    }

    #[tokio::test]
    async fn the_error_schema_is_what_an_error_renders() {
        let res = super::super::error::ApiError::field("x", "is wrong").render("Op", "1.00ms");
        assert_eq!(res.status(), 400);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Map<String, Value> = serde_json::from_slice(&body).unwrap();
        let keys: Vec<&str> = body.keys().map(String::as_str).collect();
        let schema = schema("APIError");
        let properties: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys, properties,
            "an input error has every documented field"
        );
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            required,
            [
                "StatusCode",
                "code",
                "details",
                "duration",
                "message",
                "more_info"
            ]
        );
    }
}
