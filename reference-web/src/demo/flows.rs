//! The demo's everyday flows over the companion's commands: a message to
//! the echo contact, its answer and the status marks (spec §7.4, §7.6), and
//! a file uploaded then downloaded and checked by hash (§8, [MEDIA-08]).

use std::time::Duration;

use tandem_client::DriverEvent;
use tandem_codec::session::{Body, MessageStatus};
use tandem_proto::companion::CompanionEvent;

use super::summary::Summary;
use super::{Demo, follow};
use crate::commands::{self, SendOutcome, UploadOptions};
use crate::console::human_bytes;
use crate::error::WebError;
use crate::format::status_word;
use crate::session::Session;

/// Sends to Echo and waits for its answer and for the message to be read.
pub(super) async fn echo_round(
    demo: &Demo,
    session: &mut Session,
    summary: &mut Summary,
) -> Result<(), WebError> {
    let text = "Hello, Echo!";
    let outcome = commands::send(
        session,
        &demo.web,
        "Echo",
        text,
        Duration::ZERO,
        demo.timeout,
    )
    .await?;
    let SendOutcome::Delivered {
        chat_id,
        message_id,
    } = outcome
    else {
        return Err(WebError::Timeout(
            "the phone did not take the message".into(),
        ));
    };
    demo.web
        .line(format!("Sent \"{text}\": message {message_id}."));
    let reply = format!("echo: {text}");
    let mut statuses = vec![status_word(MessageStatus::Sent)];
    follow(demo, session, |cache, event| {
        if let DriverEvent::Machine(CompanionEvent::StatusChanged {
            message_id: id,
            status,
        }) = event
            && *id == message_id
        {
            statuses.push(status_word(*status));
        }
        let answered = cache
            .messages_of(chat_id)
            .iter()
            .any(|m| m.sender != 0 && m.body == Body::Text(reply.clone()));
        let read = cache
            .messages
            .get(&message_id)
            .is_some_and(|m| m.status == MessageStatus::Read);
        answered && read
    })
    .await?;
    summary.check(
        &demo.narrator,
        statuses == ["sent", "delivered", "read"],
        format!(
            "Echo answered \"{reply}\"; the message went {}",
            statuses.join(" → ")
        ),
    );
    Ok(())
}

/// Uploads a file to Echo, downloads it again and compares.
pub(super) async fn media_round(
    demo: &Demo,
    session: &mut Session,
    size: usize,
    summary: &mut Summary,
) -> Result<(), WebError> {
    let original = demo.dir.join("demo-file.bin");
    let bytes = demo_bytes(size);
    std::fs::write(&original, &bytes).map_err(WebError::io(&original))?;
    demo.web.line(format!(
        "Uploading {} ({}) to the chat with Echo.",
        original.display(),
        human_bytes(size as u64)
    ));
    let options = UploadOptions {
        caption: "a file for the demo".into(),
        mime: None,
    };
    let uploaded = commands::upload(
        session,
        &demo.web,
        "Echo",
        &original,
        &options,
        demo.timeout,
    )
    .await?;
    let media = hex::encode(uploaded.media_id);
    let copy = demo.dir.join("downloaded.bin");
    demo.web.line(format!("Downloading media {media} again."));
    let downloaded = commands::download(session, &demo.web, &media, &copy, demo.timeout).await?;
    let same = std::fs::read(&downloaded.path).map_err(WebError::io(&downloaded.path))? == bytes;
    summary.check(
        &demo.narrator,
        same && matches!(uploaded.sent, SendOutcome::Delivered { .. }),
        format!(
            "{} uploaded and sent, downloaded again, SHA-256 {}… matches, bytes identical",
            human_bytes(size as u64),
            &media[..16]
        ),
    );
    Ok(())
}

/// Reproducible bytes that do not compress (xorshift).
fn demo_bytes(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
