//! The development secret of the embedded default: created once, kept in `DATA_DIR`, so
//! `room-chats token` and the server agree without any configuration.

use std::fs;
use std::io::Write;
use std::path::Path;

use secrecy::SecretString;

use crate::config::ConfigError;

const FILE_NAME: &str = "jwt-secret";

/// Reads `DATA_DIR/jwt-secret`, creating it with 32 random bytes (hex) when missing.
pub fn load_or_create(data_dir: &Path) -> Result<SecretString, ConfigError> {
    let path = data_dir.join(FILE_NAME);
    let file_error = |source| ConfigError::File {
        setting: "DATA_DIR",
        path: path.clone(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned().into()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(file_error(error)),
    }
    fs::create_dir_all(data_dir).map_err(file_error)?;
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ConfigError::Invalid(format!("no randomness for the secret: {error}")))?;
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => file.write_all(secret.as_bytes()).map_err(file_error)?,
        // Another process (the server, or a concurrent `token`) created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return fs::read_to_string(&path)
                .map(|secret| secret.trim().to_owned().into())
                .map_err(file_error);
        }
        Err(error) => return Err(file_error(error)),
    }
    tracing::info!(path = %path.display(), "created a development JWT secret");
    Ok(secret.into())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn secret_is_created_once_and_reused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = load_or_create(dir.path())?;
        let second = load_or_create(dir.path())?;
        assert_eq!(first.expose_secret().len(), 64);
        assert_eq!(first.expose_secret(), second.expose_secret());
        Ok(())
    }
}
