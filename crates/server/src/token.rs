//! `room-chats token`: mints development tokens with the configured HS256 secret.

use clap::{Args, ValueEnum};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};

/// Roles a token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenRole {
    /// A customer.
    Client,
    /// Shop staff.
    Admin,
    /// The main platform.
    Service,
}

/// What to put in the token.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user id (`sub`).
    #[arg(long)]
    pub sub: String,
    /// The role.
    #[arg(long, value_enum)]
    pub role: TokenRole,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub ttl: u64,
    /// Create the development secret in `DATA_DIR` when there is none yet, for a server that
    /// will start there later. Without it a missing secret is an error: a token signed with a
    /// secret no server holds is refused (401) everywhere.
    #[arg(long)]
    pub create_secret: bool,
}

/// Claims beyond the user's own that the verifier requires.
pub struct Audience<'a> {
    /// `iss`, when the verifier checks it.
    pub issuer: Option<&'a str>,
    /// `aud`, when the verifier checks it.
    pub audience: Option<&'a str>,
    /// The claim that holds the role.
    pub role_claim: &'a str,
}

/// Signs a token for `args`, valid from now for `args.ttl` seconds.
pub fn mint(
    args: &TokenArgs,
    audience: &Audience<'_>,
    key: &EncodingKey,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let role = match args.role {
        TokenRole::Client => "client",
        TokenRole::Admin => "admin",
        TokenRole::Service => "service",
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(args.sub));
    claims.insert(audience.role_claim.into(), json!(role));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add_unsigned(args.ttl)));
    if let Some(name) = &args.name {
        claims.insert("name".into(), json!(name));
    }
    if let Some(issuer) = audience.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    if let Some(aud) = audience.audience {
        claims.insert("aud".into(), json!(aud));
    }
    encode(&Header::new(Algorithm::HS256), &Value::Object(claims), key)
}
