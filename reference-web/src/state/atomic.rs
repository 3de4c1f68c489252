//! Owner-only files written atomically (temporary file, fsync, rename, fsync
//! of the folder) and read with a size bound, so that a crash leaves the old
//! or the new queue ([SYNC-19]), never half of one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::WebError;

/// Replaces `path` with `bytes`, owner-only (0600).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), WebError> {
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".tmp");
    let temp = Path::new(&temp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(temp)
        .map_err(WebError::io(temp))?;
    // A leftover temporary file from another umask keeps its old mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(WebError::io(temp))?;
    file.write_all(bytes).map_err(WebError::io(temp))?;
    file.sync_all().map_err(WebError::io(temp))?;
    drop(file);
    std::fs::rename(temp, path).map_err(WebError::io(path))?;
    if let Some(dir) = path.parent() {
        // The rename is durable once the folder is.
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(WebError::io(dir))?;
    }
    Ok(())
}

/// The content of `path`, or `None` if it does not exist. Refuses a file
/// larger than `max` bytes or readable by others.
pub(crate) fn read(path: &Path, max: u64) -> Result<Option<Vec<u8>>, WebError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(WebError::io(path)(err)),
    };
    let mode = file
        .metadata()
        .map_err(WebError::io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(WebError::State {
            path: path.to_owned(),
            reason: format!(
                "readable by others (mode {:o}); it holds keys: chmod 600 it or pair again",
                mode & 0o777
            ),
        });
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(WebError::io(path))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(WebError::State {
            path: path.to_owned(),
            reason: format!("larger than {max} bytes"),
        });
    }
    Ok(Some(bytes))
}

/// Deletes `path` and its temporary file; a missing file is no error.
pub(crate) fn remove(path: &Path) -> Result<(), WebError> {
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".tmp");
    for file in [path, Path::new(&temp_name)] {
        match std::fs::remove_file(file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(WebError::io(file)(err)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_owner_only_and_reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        assert_eq!(read(&path, 10).unwrap(), None);
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(read(&path, 10).unwrap(), Some(b"two".to_vec()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(read(&path, 2).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path, 10).is_err());
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(!path.exists());
    }
}
