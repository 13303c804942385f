//! Token minting for tests, including deliberately broken tokens.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub const RSA_PRIVATE_PEM: &str = include_str!("../fixtures/rsa-private.pem");
pub const RSA_PUBLIC_PEM: &str = include_str!("../fixtures/rsa-public.pem");

/// Mints tokens the service under test accepts (and variants it must refuse).
#[derive(Clone)]
pub struct Tokens {
    secret: String,
    algorithm: Algorithm,
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Tokens {
    pub fn hs256(issuer: Option<String>, audience: Option<String>) -> Self {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).expect("randomness");
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            secret,
            algorithm: Algorithm::HS256,
            issuer,
            audience,
        }
    }

    pub fn rs256() -> Self {
        Self {
            secret: String::new(),
            algorithm: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).expect("test RSA key"),
            issuer: None,
            audience: None,
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Standard claims for `sub` with `role`, valid for an hour.
    pub fn claims(&self, sub: &str, role: &str) -> Value {
        let mut claims = json!({ "sub": sub, "role": role, "exp": now() + 3600 });
        if let Some(issuer) = &self.issuer {
            claims["iss"] = json!(issuer);
        }
        if let Some(audience) = &self.audience {
            claims["aud"] = json!(audience);
        }
        claims
    }

    /// Signs arbitrary claims with the service's key.
    pub fn sign(&self, claims: &Value) -> String {
        encode(&Header::new(self.algorithm), claims, &self.key).expect("sign")
    }

    pub fn client(&self, sub: &str) -> String {
        self.sign(&self.claims(sub, "client"))
    }

    pub fn admin(&self, sub: &str) -> String {
        self.sign(&self.claims(sub, "admin"))
    }

    pub fn service(&self) -> String {
        self.sign(&self.claims("platform", "service"))
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
