//! Local files for media (spec §8): SHA-256 and size of an upload ([MEDIA-03],
//! [MEDIA-06]), the file read at the offsets credit allows, a MIME type from
//! the name.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_proto::companion::MediaSource;

use crate::error::WebError;

/// SHA-256 and length of a file, read in pieces.
pub fn hash_file(path: &Path) -> Result<([u8; 32], u64), WebError> {
    let mut file = File::open(path).map_err(WebError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(WebError::io(path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hasher.finalize().into(), size))
}

/// An upload's bytes, read from the file at the offsets the core asks for.
pub struct FileSource {
    file: File,
    path: PathBuf,
}

impl FileSource {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Self, WebError> {
        Ok(Self {
            file: File::open(path).map_err(WebError::io(path))?,
            path: path.to_owned(),
        })
    }
}

impl MediaSource for FileSource {
    fn read_chunk(&mut self, offset: u64, len: usize) -> Result<Bytes, String> {
        let mut buffer = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let at = offset + filled as u64;
            match self.file.read_at(&mut buffer[filled..], at) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(format!("{}: {err}", self.path.display())),
            }
        }
        buffer.truncate(filled);
        Ok(Bytes::from(buffer))
    }
}

/// A MIME type from the file name's extension.
pub fn guess_mime(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "md" => "text/plain",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "mp3" => "audio/mpeg",
        "ogg" | "opus" => "audio/ogg",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The name a file goes by in a message: its last component, cut to the
/// spec's 255 bytes on a character boundary.
pub fn file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut end = name.len().min(tandem_codec::limits::MAX_FILE_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_hashed_and_read_back_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (hash, size) = hash_file(&path).unwrap();
        assert_eq!(size, 200_000);
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&data)));
        let mut source = FileSource::open(&path).unwrap();
        assert_eq!(source.read_chunk(1000, 10).unwrap(), data[1000..1010]);
        assert_eq!(source.read_chunk(199_990, 100).unwrap().len(), 10);
        assert_eq!(guess_mime(Path::new("a.PNG")), "image/png");
        assert_eq!(file_name(Path::new("/x/y/z.txt")), "z.txt");
    }
}
