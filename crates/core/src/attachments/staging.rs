//! Unfinished uploads on local disk. `object_store` writes an upload to `<key>#<n>` next to
//! its final name and renames it when complete; a node killed mid-upload (SIGKILL, power
//! loss) leaves that file behind, and nothing else would ever remove it. A node sweeps them at
//! start. (On S3 the same leftovers are incomplete multipart uploads, which a bucket lifecycle
//! rule aborts; see docs/ATTACHMENTS.md.)

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Removes, under `dir`, the staging files of uploads not written to for `idle` (an upload in
/// progress on any node writes at least every part, so it is never that idle); answers how
/// many it removed.
pub fn sweep(dir: &Path, idle: Duration) -> io::Result<usize> {
    let Some(cutoff) = SystemTime::now().checked_sub(idle) else {
        return Ok(0);
    };
    let mut removed = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Removed meanwhile (the collector empties directories too).
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && is_staging_name(&entry.file_name().to_string_lossy())
                && entry.metadata()?.modified()? < cutoff
            {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
    Ok(removed)
}

/// `<name>#<digits>`: how `object_store` names an upload being written (object keys here are
/// hex, so no finished object looks like this).
fn is_staging_name(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(stem, suffix)| {
        !stem.is_empty() && !suffix.is_empty() && suffix.bytes().all(|byte| byte.is_ascii_digit())
    })
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use std::fs::{File, FileTimes};

    use super::*;

    fn file_aged(path: &Path, age: Duration) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
        let file = File::create(path).expect("create");
        let then = SystemTime::now() - age;
        file.set_times(FileTimes::new().set_modified(then))
            .expect("set mtime");
    }

    #[test]
    fn only_idle_staging_files_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let hour = Duration::from_secs(3_600);
        let abandoned = root.join("attachments/7/0a1b#1");
        let in_progress = root.join("attachments/7/2c3d#4");
        let finished = root.join("attachments/7/4e5f");
        let old_finished = root.join("previews/7/6a7b");
        file_aged(&abandoned, 2 * hour);
        file_aged(&in_progress, Duration::from_secs(5));
        file_aged(&finished, Duration::ZERO);
        file_aged(&old_finished, 48 * hour);

        assert_eq!(sweep(root, hour).expect("sweep"), 1);
        assert!(!abandoned.exists());
        assert!(in_progress.exists() && finished.exists() && old_finished.exists());
    }

    #[test]
    fn staging_names_are_told_apart() {
        assert!(is_staging_name("0a1b#1"));
        assert!(is_staging_name("0a1b#12"));
        assert!(!is_staging_name("0a1b"));
        assert!(!is_staging_name("0a1b#"));
        assert!(!is_staging_name("#1"));
        assert!(!is_staging_name("0a1b#x1"));
    }
}
