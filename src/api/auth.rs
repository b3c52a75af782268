//! Server-side authentication as Stream's SDKs send it: `?api_key=KEY` on every request,
//! `Authorization: <JWT>` (no `Bearer` prefix, though one is tolerated) and
//! `stream-auth-type: jwt`. The token is HS256 with payload `{"server": true}`, signed with the
//! app's secret.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::error::{ApiError, Started};
use crate::dto::AppSummary;
use crate::server::AppState;

/// The app a request is authenticated as.
#[derive(Debug, Clone)]
pub struct ServerAuth {
    pub app: AppSummary,
    pub started: Started,
}

const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed(&'static str),
    Signature,
    NotServer,
    Expired,
}

/// Verifies an HS256 server token against `secret`.
pub fn verify_server_token(token: &str, secret: &[u8], now_secs: i64) -> Result<(), TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("a JWT has three dot-separated parts"));
    };
    let header_json: serde_json::Value = B64URL
        .decode(header)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed(
            "the JWT header is not base64url JSON",
        ))?;
    if header_json.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Malformed("only HS256 tokens are accepted"));
    }
    let signature = B64URL
        .decode(signature)
        .map_err(|_| TokenError::Malformed("the JWT signature is not base64url"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims: serde_json::Value = B64URL
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed(
            "the JWT payload is not base64url JSON",
        ))?;
    if claims.get("server").and_then(|s| s.as_bool()) != Some(true) {
        return Err(TokenError::NotServer);
    }
    if let Some(exp) = claims.get("exp").and_then(|e| e.as_i64()) {
        if exp < now_secs {
            return Err(TokenError::Expired);
        }
    }
    Ok(())
}

/// The `api_key` query parameter, if any.
pub fn api_key_of(query: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "api_key")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for ServerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let started = parts
            .extensions
            .get::<Started>()
            .copied()
            .unwrap_or(Started(std::time::Instant::now()));
        let Some(api_key) = api_key_of(parts.uri.query()) else {
            return Err(ApiError::bad_key("api_key not found"));
        };
        let app = state
            .db
            .app_by_key(&api_key)
            .await?
            .ok_or_else(|| ApiError::bad_key(format!("api_key not valid: {api_key}",)))?;
        let auth_type = parts
            .headers
            .get("stream-auth-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !auth_type.eq_ignore_ascii_case("jwt") {
            return Err(ApiError::auth("stream-auth-type missing or invalid"));
        }
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|t| t.strip_prefix("Bearer ").unwrap_or(t))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::auth("Authorization header missing"))?;
        let secret = state.db.app_secret(app.id).await?;
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        )
        .unwrap_or(i64::MAX);
        match verify_server_token(token, secret.expose_secret().as_bytes(), now) {
            Ok(()) => Ok(ServerAuth { app, started }),
            Err(TokenError::Expired) => Err(ApiError::expired()),
            Err(TokenError::Signature) => Err(ApiError::auth("JWTAuth error: signature is not valid. Make sure the token is created using the secret for this API key",
            )),
            Err(TokenError::NotServer) => Err(ApiError::auth("JWTAuth error: a server token (payload {\"server\": true}) is required")),
            Err(TokenError::Malformed(why)) => Err(ApiError::auth(format!("JWTAuth error: {why}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token all three official SDKs produce for the secret `SECRET` (stream-api.md §1).
    const SDK_TOKEN: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.c3gLyYYgWMGAO9pMhg81wLvrv6XQ_r-dTelnLXfnDIM";

    #[test]
    fn accepts_the_sdk_server_token() {
        assert_eq!(verify_server_token(SDK_TOKEN, b"SECRET", 0), Ok(()));
    }

    #[test]
    fn rejects_another_secret_and_tampering() {
        assert_eq!(
            verify_server_token(SDK_TOKEN, b"OTHER", 0),
            Err(TokenError::Signature)
        );
        let tampered = SDK_TOKEN.replace("eyJzZXJ2ZXIiOnRydWV9", "eyJzZXJ2ZXIiOmZhbHNlfQ");
        assert_eq!(
            verify_server_token(&tampered, b"SECRET", 0),
            Err(TokenError::Signature)
        );
        assert!(matches!(
            verify_server_token("a.b", b"SECRET", 0),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            verify_server_token("", b"SECRET", 0),
            Err(TokenError::Malformed(_))
        ));
    }

    fn sign(header: &str, payload: &str, secret: &[u8]) -> String {
        let h = B64URL.encode(header);
        let p = B64URL.encode(payload);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", B64URL.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn requires_hs256_a_server_claim_and_an_unexpired_token() {
        let user = sign(r#"{"alg":"HS256"}"#, r#"{"user_id":"u1"}"#, b"s");
        assert_eq!(
            verify_server_token(&user, b"s", 0),
            Err(TokenError::NotServer)
        );
        let none = sign(r#"{"alg":"none"}"#, r#"{"server":true}"#, b"s");
        assert!(matches!(
            verify_server_token(&none, b"s", 0),
            Err(TokenError::Malformed(_))
        ));
        let expiring = sign(r#"{"alg":"HS256"}"#, r#"{"server":true,"exp":100}"#, b"s");
        assert_eq!(verify_server_token(&expiring, b"s", 99), Ok(()));
        assert_eq!(
            verify_server_token(&expiring, b"s", 101),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn finds_the_api_key_in_the_query() {
        assert_eq!(
            api_key_of(Some("api_key=abc&user_id=x")).as_deref(),
            Some("abc")
        );
        assert_eq!(api_key_of(Some("user_id=x")), None);
        assert_eq!(api_key_of(Some("api_key=")), None);
        assert_eq!(api_key_of(None), None);
    }
}
