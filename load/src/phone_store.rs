//! The large phone store of first sync and resume: the reference phone's
//! SQLite store with N chats and M messages, generated once through its own
//! commit (a transaction per batch) and kept in a cache folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tandem_codec::envelope::{Data, EnvelopeFrame};
use tandem_codec::limits::{MAX_CHATS_PER_PAGE, NOISE_TAG};
use tandem_codec::session::{Body, Chat, ChatPage, Contact, InnerFrame, Message, MessageStatus};
use tandem_phone::store::{Account, SqliteStore, StorePaths};
use tandem_proto::store::{Commit, Store};

use crate::Error;

/// Messages per commit while generating.
const BATCH: u64 = 50_000;

/// Bumped when the generated content changes, so old caches are not used.
const VERSION: u32 = 1;

/// The log id of generated stores.
const LOG_ID: u64 = 0x10AD;

/// What the store holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    /// Chats, each with its contact.
    pub(crate) chats: u64,
    /// Messages, in contiguous blocks per chat.
    pub(crate) messages: u64,
}

/// The cache folder: the one given, or `tandem-load-cache` in the target
/// folder this binary runs from (`target/release/..`).
pub(crate) fn cache_root(given: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target folder; pass --cache")?;
    Ok(target.join("tandem-load-cache"))
}

/// The folder of a generated store of `spec`, generated now when missing.
/// Returns it and the generation time (zero when it was cached).
pub(crate) fn cached(root: &Path, spec: Spec) -> Result<(PathBuf, Duration), Error> {
    let folder = root.join(format!(
        "phone-v{VERSION}-{}chats-{}messages",
        spec.chats, spec.messages
    ));
    if folder.join("complete").exists() {
        return Ok((folder, Duration::ZERO));
    }
    std::fs::create_dir_all(root)?;
    let building = root.join(format!("building-{}", std::process::id()));
    if building.exists() {
        std::fs::remove_dir_all(&building)?;
    }
    std::fs::create_dir_all(&building)?;
    let start = Instant::now();
    generate(&building, spec)?;
    std::fs::write(building.join("complete"), b"")?;
    if folder.exists() {
        std::fs::remove_dir_all(&folder)?;
    }
    std::fs::rename(&building, &folder)?;
    Ok((folder, start.elapsed()))
}

/// Copies a generated store into `dest` (a run changes its store).
pub(crate) fn copy(from: &Path, dest: &Path) -> Result<(), Error> {
    let source = StorePaths::in_folder(from);
    let target = StorePaths::in_folder(dest);
    std::fs::copy(&source.database, &target.database)?;
    Ok(())
}

/// Writes a new store of `spec` into `folder`.
pub(crate) fn generate(folder: &Path, spec: Spec) -> Result<(), Error> {
    let account = Account {
        name: "Load".into(),
        device_name: "tandem-load phone".into(),
    };
    let mut store = SqliteStore::create(&StorePaths::in_folder(folder), LOG_ID, &account)?;
    let chats = spec.chats.max(1);
    let per_chat = spec.messages / chats;
    let extra = spec.messages % chats;
    // Chat c holds the ids first_id(c) .. first_id(c + 1).
    let first_id = |c: u64| 1 + (c - 1) * per_chat + (c - 1).min(extra);
    let mut commit = Commit::default();
    for c in 1..=chats {
        commit.contacts.push(Contact {
            contact_id: c,
            name: format!("Contact {c:05}"),
        });
        let last = first_id(c + 1) - 1;
        commit
            .chats
            .push(chat(c, if last >= first_id(c) { last } else { 0 }));
    }
    store.commit(commit)?;
    let mut commit = Commit::default();
    for c in 1..=chats {
        for message_id in first_id(c)..first_id(c + 1) {
            commit.messages.push(message(c, message_id));
            if commit.messages.len() as u64 >= BATCH {
                store.commit(std::mem::take(&mut commit))?;
            }
        }
    }
    if !commit.messages.is_empty() {
        store.commit(commit)?;
    }
    Ok(())
}

fn chat(c: u64, last_message_id: u64) -> Chat {
    Chat {
        chat_id: c,
        contact_id: c,
        title: format!("Chat {c:05}"),
        unread: 0,
        last_message_id,
    }
}

fn message(c: u64, message_id: u64) -> Message {
    let mine = message_id.is_multiple_of(2);
    Message {
        message_id,
        chat_id: c,
        sender: if mine { 0 } else { c },
        timestamp_ms: 1_700_000_000_000 + message_id * 1_000,
        status: if mine {
            MessageStatus::Read
        } else {
            MessageStatus::None
        },
        body: Body::Text(format!("Message {message_id} in chat {c}: see you at one")),
    }
}

/// Length of the snapshot's first `ChatPage` as a relay message.
pub(crate) fn first_page_len(spec: Spec) -> Result<usize, Error> {
    let count = spec.chats.clamp(1, MAX_CHATS_PER_PAGE as u64);
    let chats = (1..=count).map(|c| chat(c, c)).collect();
    let inner = InnerFrame::from(ChatPage { chats }).to_bytes()?.len();
    let data = EnvelopeFrame::from(Data {
        link_id: 1,
        payload: bytes::Bytes::from(vec![0; inner + NOISE_TAG]),
    });
    Ok(data.to_bytes()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_store_has_what_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            chats: 7,
            messages: 100,
        };
        let (folder, _) = cached(dir.path(), spec).unwrap();
        let store = SqliteStore::open(&StorePaths::in_folder(&folder)).unwrap();
        let chats = store.chats().unwrap();
        assert_eq!(chats.len(), 7);
        assert_eq!(store.max_message_id().unwrap(), 100);
        let total: usize = chats
            .iter()
            .map(|c| store.messages(c.chat_id, 0, 1000).unwrap().0.len())
            .sum();
        assert_eq!(total, 100);
        assert_eq!(store.head().unwrap(), 0);
        // The second time it comes from the cache.
        let (again, took) = cached(dir.path(), spec).unwrap();
        assert_eq!((again, took), (folder, Duration::ZERO));
        assert!(first_page_len(spec).unwrap() > 7 * 30);
    }
}
