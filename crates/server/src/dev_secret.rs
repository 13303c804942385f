//! The generated secrets of the embedded default: created once, kept in `DATA_DIR`, so
//! `room-chats token` and the server agree without any configuration, and Web Push works
//! out of the box.

use std::fs;
use std::io::Write;
use std::path::Path;

use secrecy::SecretString;

use crate::config_error::ConfigError;

const FILE_NAME: &str = "jwt-secret";

/// The file of the embedded default's generated VAPID key (Web Push).
const VAPID_FILE_NAME: &str = "vapid-private-key";

/// Reads `DATA_DIR/jwt-secret`, if a server (or `token --create-secret`) made one.
pub fn load(data_dir: &Path) -> Result<Option<SecretString>, ConfigError> {
    load_file(data_dir, FILE_NAME)
}

/// The secret in `DATA_DIR/{name}`, if the file is there and not empty.
fn load_file(data_dir: &Path, name: &str) -> Result<Option<SecretString>, ConfigError> {
    let path = data_dir.join(name);
    match fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(Some(secret.trim().to_owned().into())),
        Ok(_) => Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::File {
            setting: "DATA_DIR",
            path,
            source,
        }),
    }
}

/// Reads `DATA_DIR/jwt-secret`, creating it with 32 random bytes (hex) when missing.
pub fn load_or_create(data_dir: &Path) -> Result<SecretString, ConfigError> {
    load_or_create_file(data_dir, FILE_NAME, "a development JWT secret", || {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| {
            ConfigError::Invalid(format!("no randomness for the secret: {error}"))
        })?;
        Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
    })
}

/// Reads `DATA_DIR/vapid-private-key`, creating it with a new P-256 key when missing.
pub fn load_or_create_vapid_key(data_dir: &Path) -> Result<SecretString, ConfigError> {
    load_or_create_file(
        data_dir,
        VAPID_FILE_NAME,
        "a VAPID key for Web Push",
        || Ok(room_chats_core::push::Vapid::generate_private_key()),
    )
}

/// Reads the secret in `DATA_DIR/{name}`, creating it with `make` when missing (readable by
/// its owner only). Two processes racing to create it end up with the same one.
fn load_or_create_file(
    data_dir: &Path,
    name: &str,
    what: &str,
    make: impl FnOnce() -> Result<String, ConfigError>,
) -> Result<SecretString, ConfigError> {
    let path = data_dir.join(name);
    let file_error = |source| ConfigError::File {
        setting: "DATA_DIR",
        path: path.clone(),
        source,
    };
    if let Some(secret) = load_file(data_dir, name)? {
        return Ok(secret);
    }
    fs::create_dir_all(data_dir).map_err(file_error)?;
    let secret = make()?;
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
    tracing::info!(path = %path.display(), "created {what}");
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

    #[test]
    fn vapid_key_is_created_once_and_usable() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = load_or_create_vapid_key(dir.path())?;
        let second = load_or_create_vapid_key(dir.path())?;
        assert_eq!(first.expose_secret(), second.expose_secret());
        let vapid = room_chats_core::push::Vapid::from_base64url(
            first.expose_secret(),
            "mailto:ops@example.com".to_owned(),
        )?;
        assert_eq!(vapid.public_key().len(), 87, "65 bytes in base64url");
        Ok(())
    }
}
