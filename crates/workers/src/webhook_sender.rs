//! One HTTP attempt of one event: signed, bounded in time, never redirected.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, redirect};
use room_chats_store::webhooks::{Delivery, EndpointTarget};

use room_chats_core::webhooks::WebhookSettings;
use room_chats_core::webhooks::signature::sign;
use room_chats_core::webhooks::url_guard::{GuardedResolver, check_endpoint_url};

/// Most bytes of a receiver's answer read (to keep the connection reusable); the rest is
/// dropped with the connection.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the receiver asks to be disabled.
    Gone,
    /// Anything else: retried later.
    Failed {
        /// The receiver's status, if it answered.
        status: Option<i32>,
        /// What went wrong, for the dead-letter list and the log (no secrets, no bodies).
        error: String,
    },
}

/// The webhook HTTP client.
#[derive(Clone)]
pub struct Sender {
    client: Client,
    allow_private: bool,
}

impl Sender {
    /// A client under `settings`: its timeout, no redirects, no proxy from the environment,
    /// and a resolver that refuses internal addresses unless they are allowed.
    pub fn new(settings: &WebhookSettings) -> Result<Self, reqwest::Error> {
        let client = guarded_client(settings.timeout, settings.allow_private_urls)?;
        Ok(Self {
            client,
            allow_private: settings.allow_private_urls,
        })
    }

    /// Posts `delivery` to `target`, signed with its secret at this moment.
    pub async fn send(&self, target: &EndpointTarget, delivery: &Delivery) -> Attempt {
        // Saved URLs were checked then; the setting may have changed since, and an IP literal
        // never meets the resolver.
        let url = match check_endpoint_url(&target.url, self.allow_private) {
            Ok(url) => url,
            Err(refusal) => return failed(None, refusal.to_string()),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let Some(signature) = sign(
            &target.secret,
            &delivery.event_id,
            timestamp,
            &delivery.body,
        ) else {
            return failed(
                None,
                "the endpoint's secret is not a whsec_ secret".to_owned(),
            );
        };
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(None, describe(&error)),
        };
        let status = response.status();
        let mut read = 0;
        while read < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            Attempt::Delivered
        } else if status == StatusCode::GONE {
            Attempt::Gone
        } else if status.is_redirection() {
            failed(
                Some(status),
                format!("the receiver answered {status}; redirects are not followed"),
            )
        } else {
            failed(Some(status), format!("the receiver answered {status}"))
        }
    }
}

/// An HTTP client for calls to URLs users gave (webhook receivers, push services): bounded in
/// time, no redirects, no proxy from the environment, and a resolver that refuses internal
/// addresses unless they are allowed.
pub(crate) fn guarded_client(
    timeout: Duration,
    allow_private: bool,
) -> Result<Client, reqwest::Error> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { allow_private })
        .user_agent(concat!("room-chats/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

fn failed(status: Option<StatusCode>, error: String) -> Attempt {
    Attempt::Failed {
        status: status.map(|status| i32::from(status.as_u16())),
        error,
    }
}

/// A transport error in a few words: which kind, without the URL's query.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_request() {
        "request failed"
    } else if error.is_body() || error.is_decode() {
        "answer unreadable"
    } else {
        "transport error"
    };
    match std::error::Error::source(error) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}
