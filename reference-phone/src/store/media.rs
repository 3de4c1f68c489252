//! Media files in a content-addressed folder beside the database (spec §8):
//! uploads grow in `partial/<sha256>` and move to `<sha256>` once the core
//! checked the hash. Each chunk is fsynced, and its length recorded in the
//! database, before the store returns ([MEDIA-04], [MEDIA-05]).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tandem_proto::store::{MediaState, StoreError};

use super::convert::{damaged, db, from_sql, to_sql};

/// The media folder and its `partial/` folder.
#[derive(Clone, Debug)]
pub(crate) struct MediaFolder {
    root: PathBuf,
    partial: PathBuf,
}

fn io(path: &Path, err: std::io::Error) -> StoreError {
    StoreError(format!("{}: {err}", path.display()))
}

/// Makes a folder's entries (a created or renamed file) durable.
fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|err| io(path, err))
}

impl MediaFolder {
    pub(crate) fn new(root: PathBuf) -> Self {
        let partial = root.join("partial");
        Self { root, partial }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn partial_dir(&self) -> &Path {
        &self.partial
    }

    fn complete_path(&self, media_id: &[u8; 32]) -> PathBuf {
        self.root.join(hex::encode(media_id))
    }

    fn partial_path(&self, media_id: &[u8; 32]) -> PathBuf {
        self.partial.join(hex::encode(media_id))
    }

    /// The recorded state: bytes durably held and whether complete.
    fn row(conn: &Connection, media_id: &[u8; 32]) -> Result<Option<(u64, bool)>, StoreError> {
        conn.prepare_cached("SELECT bytes, complete FROM media WHERE media_id = ?1")
            .map_err(db)?
            .query_row([&media_id[..]], |r| {
                Ok((from_sql(r.get(0)?), r.get::<_, i64>(1)? != 0))
            })
            .optional()
            .map_err(db)
    }

    pub(crate) fn state(
        &self,
        conn: &Connection,
        media_id: &[u8; 32],
    ) -> Result<MediaState, StoreError> {
        Ok(match Self::row(conn, media_id)? {
            None => MediaState::Absent,
            Some((size, true)) => MediaState::Complete { size },
            Some((bytes, false)) => MediaState::Partial { bytes },
        })
    }

    /// Writes a chunk at `offset` (the bytes held so far), fsyncs it, then
    /// records the new length: what the database says is always on disk.
    pub(crate) fn write(
        &self,
        conn: &Connection,
        media_id: &[u8; 32],
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let held = match Self::row(conn, media_id)? {
            None => 0,
            Some((bytes, false)) => bytes,
            Some((_, true)) => return Err(StoreError("write to a complete media file".into())),
        };
        if offset != held {
            return Err(StoreError(format!("write at {offset}, file has {held}")));
        }
        let path = self.partial_path(media_id);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|err| io(&path, err))?;
        // Bytes past the recorded length are the torn tail of a write that
        // a crash interrupted: drop them.
        file.set_len(offset).map_err(|err| io(&path, err))?;
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(data))
            .and_then(|()| file.sync_all())
            .map_err(|err| io(&path, err))?;
        if offset == 0 {
            sync_dir(&self.partial)?;
        }
        let bytes = offset.saturating_add(data.len() as u64);
        conn.prepare_cached(
            "INSERT INTO media (media_id, bytes, complete) VALUES (?1, ?2, 0) \
             ON CONFLICT (media_id) DO UPDATE SET bytes = excluded.bytes",
        )
        .map_err(db)?
        .execute(params![&media_id[..], to_sql(bytes)])
        .map_err(db)?;
        Ok(())
    }

    /// Moves a checked upload to its content address, durably, then marks
    /// it complete.
    pub(crate) fn complete(
        &self,
        conn: &Connection,
        media_id: &[u8; 32],
        size: u64,
    ) -> Result<(), StoreError> {
        match Self::row(conn, media_id)? {
            Some((bytes, false)) if bytes == size => {}
            Some((bytes, true)) if bytes == size => return Ok(()),
            _ => {
                return Err(StoreError(
                    "complete_media on a file of the wrong size".into(),
                ));
            }
        }
        let (from, to) = (self.partial_path(media_id), self.complete_path(media_id));
        fs::rename(&from, &to).map_err(|err| io(&from, err))?;
        sync_dir(&self.root)?;
        sync_dir(&self.partial)?;
        Self::mark_complete(conn, media_id)
    }

    fn mark_complete(conn: &Connection, media_id: &[u8; 32]) -> Result<(), StoreError> {
        conn.prepare_cached("UPDATE media SET complete = 1 WHERE media_id = ?1")
            .map_err(db)?
            .execute([&media_id[..]])
            .map_err(db)?;
        Ok(())
    }

    /// Forgets a file: the record first, then its bytes.
    pub(crate) fn discard(&self, conn: &Connection, media_id: &[u8; 32]) -> Result<(), StoreError> {
        conn.prepare_cached("DELETE FROM media WHERE media_id = ?1")
            .map_err(db)?
            .execute([&media_id[..]])
            .map_err(db)?;
        for path in [self.partial_path(media_id), self.complete_path(media_id)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(&path, err)),
            }
        }
        Ok(())
    }

    /// Reads up to `len` bytes at `offset` of a held file (complete or
    /// partial), never past what the database records.
    pub(crate) fn read(
        &self,
        conn: &Connection,
        media_id: &[u8; 32],
        offset: u64,
        len: usize,
    ) -> Result<Bytes, StoreError> {
        let (held, complete) =
            Self::row(conn, media_id)?.ok_or_else(|| StoreError("no such media".into()))?;
        if offset > held {
            return Err(StoreError("read beyond the file".into()));
        }
        let take = (held - offset).min(len as u64);
        let path = if complete {
            self.complete_path(media_id)
        } else {
            self.partial_path(media_id)
        };
        let mut file = File::open(&path).map_err(|err| io(&path, err))?;
        let mut data = vec![0u8; usize::try_from(take).map_err(|_| damaged("media length"))?];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|err| io(&path, err))?;
        Ok(Bytes::from(data))
    }

    /// After a crash between the rename and the record of [`Self::complete`]:
    /// a file at its content address passed the hash check, so it is
    /// complete.
    pub(crate) fn recover(&self, conn: &Connection) -> Result<(), StoreError> {
        let mut statement = conn
            .prepare("SELECT media_id, bytes FROM media WHERE complete = 0")
            .map_err(db)?;
        let rows: Vec<(Vec<u8>, i64)> = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        for (media_id, bytes) in rows {
            let media_id = <[u8; 32]>::try_from(media_id).map_err(|_| damaged("media id"))?;
            let done = self.complete_path(&media_id);
            let moved = !self.partial_path(&media_id).exists()
                && fs::metadata(&done).is_ok_and(|m| m.len() == from_sql(bytes));
            if moved {
                Self::mark_complete(conn, &media_id)?;
            }
        }
        Ok(())
    }
}
