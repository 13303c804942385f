//! What goes wrong reading the configuration, apart from the readers (the settings and the
//! development secrets) that report it.

use std::path::PathBuf;

/// A configuration problem, reported at start-up before anything listens.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is malformed or values contradict each other.
    #[error("{0}")]
    Invalid(String),
    /// A file named by the configuration could not be read or written.
    #[error("{setting} {}: {source}", path.display())]
    File {
        /// The setting that names the file (or its directory).
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
