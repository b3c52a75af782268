//! Server-side authentication as Stream's SDKs send it: `?api_key=KEY` on every request,
//! `Authorization: <JWT>` (no `Bearer` prefix, though one is tolerated) and
//! `stream-auth-type: jwt`. The token is HS256 with payload `{"server": true}`, signed with the
//! app's secret (or, during a rotation's grace period, its previous secret).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;

use super::error::{ApiError, Started};
use super::RateSlot;
use crate::dto::AppSummary;
use crate::server::AppState;

/// The app a request is authenticated as.
#[derive(Debug, Clone)]
pub struct ServerAuth {
    pub app: AppSummary,
    pub started: Started,
}

/// The longest `api_key` looked up (Hookrelay's keys have 12 characters, Stream's about as
/// many); a longer one is refused without a database read.
pub const MAX_API_KEY_LEN: usize = 64;

/// How far in the future a token's `nbf` and `iat` may be (clocks differ a little).
pub const CLOCK_LEEWAY_SECS: i64 = 60;

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed(&'static str),
    Signature,
    NotServer,
    Expired,
    NotYetValid,
    IssuedInFuture,
}

/// The claims of a server token. RFC 7519's times are NumericDate: `exp`, `nbf` and `iat` must
/// be integers when present (`"exp": 1.5` or `"exp": "9999999999"` is refused).
#[derive(Debug, serde::Deserialize)]
struct ServerClaims {
    #[serde(default)]
    server: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
}

fn token_error(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::Malformed("only HS256 tokens are accepted")
        }
        ErrorKind::Json(_) => {
            TokenError::Malformed("the JWT claims are not valid JSON with integer exp, nbf and iat")
        }
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            TokenError::Malformed("the JWT is not base64url JSON")
        }
        _ => TokenError::Malformed("a JWT has three dot-separated base64url parts"),
    }
}

/// Verifies an HS256 server token against `secret` (with `jsonwebtoken`), then its claims:
/// `server: true`, `exp` not passed, `nbf` and `iat` not in the future (beyond
/// [`CLOCK_LEEWAY_SECS`]).
pub fn verify_server_token(token: &str, secret: &[u8], now_secs: i64) -> Result<(), TokenError> {
    let token = token.trim();
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        ErrorKind::InvalidToken => token_error(e),
        _ => TokenError::Malformed("the JWT header is not valid (only HS256 tokens are accepted)"),
    })?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::Malformed("only HS256 tokens are accepted"));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    // the claims are checked below, typed; Stream's tokens need none of them
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims =
        jsonwebtoken::decode::<ServerClaims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(token_error)?
            .claims;
    if claims.server != Some(serde_json::Value::Bool(true)) {
        return Err(TokenError::NotServer);
    }
    if claims.exp.is_some_and(|exp| exp < now_secs) {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now_secs + CLOCK_LEEWAY_SECS)
    {
        return Err(TokenError::NotYetValid);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now_secs + CLOCK_LEEWAY_SECS)
    {
        return Err(TokenError::IssuedInFuture);
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

/// The address of the peer (the client, or the proxy in front of Hookrelay).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    )
    .unwrap_or(i64::MAX)
}

/// The app whose key and token the request carries, or why not (nothing is counted here).
async fn authenticate(parts: &Parts, state: &AppState) -> Result<AppSummary, ApiError> {
    let Some(api_key) = api_key_of(parts.uri.query()) else {
        return Err(ApiError::bad_key("api_key not found"));
    };
    if api_key.len() > MAX_API_KEY_LEN {
        return Err(ApiError::bad_key("api_key not valid"));
    }
    let app = state
        .db
        .app_by_key(&api_key)
        .await?
        .ok_or_else(|| ApiError::bad_key(format!("api_key not valid: {api_key}")))?;
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
    let secrets = state.db.app_secrets(app.id).await?;
    let now = now_secs();
    let mut verdict = verify_server_token(token, secrets.current.expose_secret().as_bytes(), now);
    if verdict == Err(TokenError::Signature) {
        // during a rotation's grace period the previous secret still signs
        if let Some(previous) = &secrets.previous {
            verdict = verify_server_token(token, previous.expose_secret().as_bytes(), now);
        }
    }
    match verdict {
        Ok(()) => Ok(app),
        Err(TokenError::Expired) => Err(ApiError::expired()),
        Err(TokenError::Signature) => Err(ApiError::auth("JWTAuth error: signature is not valid. Make sure the token is created using the secret for this API key")),
        Err(TokenError::NotServer) => Err(ApiError::auth("JWTAuth error: a server token (payload {\"server\": true}) is required")),
        Err(TokenError::NotYetValid) => Err(ApiError::auth("JWTAuth error: token is not valid yet (nbf)")),
        Err(TokenError::IssuedInFuture) => Err(ApiError::auth("JWTAuth error: token used before issue at (iat)")),
        Err(TokenError::Malformed(why)) => Err(ApiError::auth(format!("JWTAuth error: {why}"))),
    }
}

impl FromRequestParts<AppState> for ServerAuth {
    type Rejection = ApiError;

    /// Authenticates first; only then is a budget spent: the app's own when the request is
    /// its, else (a failed authentication) the client address's. A correctly signed call is
    /// never refused because of other clients' failures.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let started = parts
            .extensions
            .get::<Started>()
            .copied()
            .unwrap_or(Started(std::time::Instant::now()));
        let slot = parts
            .extensions
            .get::<RateSlot>()
            .cloned()
            .unwrap_or_default();
        match authenticate(parts, state).await {
            Ok(app) => {
                let verdict = state.budgets.for_path(parts.uri.path()).hit(&app.id);
                slot.set(verdict);
                if !verdict.allowed {
                    return Err(ApiError::rate_limited());
                }
                Ok(ServerAuth { app, started })
            }
            Err(e) if e.status.is_server_error() => Err(e),
            Err(e) => {
                let verdict = state.budgets.auth_failures.hit(&client_ip(parts));
                slot.set(verdict);
                if !verdict.allowed {
                    return Err(ApiError::rate_limited());
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

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
    fn time_claims_must_be_integers_and_not_in_the_future() {
        let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
        for claims in [
            r#"{"server":true,"exp":1.5}"#,
            r#"{"server":true,"exp":"9999999999"}"#,
            r#"{"server":true,"iat":true}"#,
            r#"{"server":true,"nbf":[1]}"#,
        ] {
            let token = sign(hs, claims, b"s");
            assert!(
                matches!(
                    verify_server_token(&token, b"s", 0),
                    Err(TokenError::Malformed(_))
                ),
                "{claims} accepted"
            );
        }
        let now = 1_000_000;
        let at = |claims: &str| verify_server_token(&sign(hs, claims, b"s"), b"s", now);
        assert_eq!(at(r#"{"server":true,"iat":1000000,"nbf":999000}"#), Ok(()));
        assert_eq!(
            at(r#"{"server":true,"iat":1000030}"#),
            Ok(()),
            "within the leeway"
        );
        assert_eq!(
            at(r#"{"server":true,"nbf":1000600}"#),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            at(r#"{"server":true,"iat":1000600}"#),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(at(r#"{"server":"true"}"#), Err(TokenError::NotServer));
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
