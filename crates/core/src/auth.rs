//! Bearer-token authentication: this service trusts JWTs minted by the main platform.
//!
//! The algorithm is pinned by configuration, never read from the token; `exp` and `sub` are
//! required; `nbf` is honoured; `iss` and `aud` are checked when configured. Keys named by
//! the token (`kid`, `jku`) are never fetched.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use room_chats_types::Role;
use room_chats_types::rules::check_id;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Longest accepted clock skew between us and the token issuer.
pub const MAX_LEEWAY_SECS: u64 = 30;

/// Everything needed to verify tokens.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    role_claim: String,
}

/// Verifier settings, from configuration.
pub struct VerifierSettings {
    /// The one accepted algorithm.
    pub algorithm: Algorithm,
    /// The HS256 secret or the public key matching `algorithm`.
    pub key: DecodingKey,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud`, if any.
    pub audience: Option<String>,
    /// Allowed clock skew in seconds; capped at [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// The claim holding the role (`role` by default).
    pub role_claim: String,
}

impl TokenVerifier {
    /// Builds a verifier.
    pub fn new(settings: VerifierSettings) -> Self {
        let mut validation = Validation::new(settings.algorithm);
        validation.leeway = settings.leeway_secs.min(MAX_LEEWAY_SECS);
        validation.validate_exp = true;
        // jsonwebtoken leaves nbf unchecked unless asked.
        validation.validate_nbf = true;
        // A configured issuer or audience must be present, not merely right when present
        // (RFC 8725 §3.8-3.9): jsonwebtoken checks `iss`/`aud` only if the token has them.
        let mut required = vec!["exp", "sub"];
        if settings.issuer.is_some() {
            required.push("iss");
        }
        if settings.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &settings.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &settings.audience {
            Some(audience) => validation.set_audience(&[audience]),
            // Otherwise a token that names an audience would be refused for it.
            None => validation.validate_aud = false,
        }
        Self {
            key: settings.key,
            validation,
            role_claim: settings.role_claim,
        }
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let data = decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|_| ApiError::Unauthorized("token rejected by signature or claims check"))?;
        let claims = data.claims;
        let user_id = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|sub| check_id(sub).is_ok())
            .ok_or(ApiError::Unauthorized("sub is not a usable user id"))?
            .to_owned();
        let mut role = match claims.get(&self.role_claim) {
            None | Some(Value::Null) => Role::Client,
            Some(Value::String(role)) => {
                Role::parse(role).ok_or(ApiError::Unauthorized("unknown role"))?
            }
            Some(_) => return Err(ApiError::Unauthorized("role claim is not a string")),
        };
        if role == Role::Client && claims.get("is_staff") == Some(&Value::Bool(true)) {
            role = Role::Admin;
        }
        let name = claims
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| name.chars().take(200).collect());
        let expires_at = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        Ok(Caller {
            user_id,
            role,
            name,
            expires_at,
            request_id: None,
        })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`.
    pub user_id: String,
    /// What the caller may do.
    pub role: Role,
    /// Display name from the token, if any.
    pub name: Option<String>,
    /// When the token expires (`exp`, Unix seconds): live connections end then.
    pub expires_at: i64,
    /// The id of the request the caller made (`X-Request-Id`), for the audit trail; for a
    /// live connection, the id of its opening request.
    pub request_id: Option<String>,
}
