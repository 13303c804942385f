//! Log output: `RUST_LOG` picks what, `LOG_FORMAT` picks how.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Whether [`init`] ran: errors are then logged rather than printed.
pub fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::Acquire)
}

/// Installs the global subscriber. Logs go to stderr, so `room-chats openapi` and
/// `room-chats token` can print their result alone on stdout.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests start several services in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    INITIALIZED.store(true, Ordering::Release);
}
