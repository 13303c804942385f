//! Signing deliveries per the Standard Webhooks convention, so receivers can verify them
//! with its libraries: `webhook-signature` is `v1,` + base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret after `whsec_`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a signing secret.
const SECRET_PREFIX: &str = "whsec_";

/// Bytes of key in a generated secret (the convention asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A new random signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut key = [0_u8; SECRET_BYTES];
    getrandom::fill(&mut key)?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The `webhook-signature` header of a delivery of `body` with `id` sent at `timestamp`
/// (Unix seconds), under `secret`. `None` when the secret is not `whsec_` + base64 (the
/// service only stores ones it made).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signs_the_specification_example() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn generated_secrets_sign_and_differ() {
        let (Ok(first), Ok(second)) = (generate_secret(), generate_secret()) else {
            panic!("no randomness");
        };
        assert_ne!(first, second);
        assert!(first.starts_with("whsec_"));
        assert!(sign(&first, "evt_1_1", 1, "{}").is_some());
        assert_eq!(sign("not-a-secret", "evt_1_1", 1, "{}"), None);
    }
}
