//! How chats and messages read, in lines and JSON (spec §7.1): status marks
//! (sent ✓, delivered ✓✓, read), senders by name, media by name, size and id,
//! unknown body kinds shown as unsupported ([SYNC-02]).

use serde::Serialize;
use tandem_codec::session::{Body, Chat, Message, MessageStatus};
use tandem_proto::companion::Cache;

use crate::console::human_bytes;
use crate::pair::plain;

/// The mark after a message this account sent.
pub fn status_mark(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::None => "",
        MessageStatus::Sent => "✓",
        MessageStatus::Delivered | MessageStatus::Read => "✓✓",
    }
}

/// The status in words.
pub fn status_word(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::None => "received",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
    }
}

/// A body as one line of text.
pub fn body_text(body: &Body) -> String {
    match body {
        Body::Text(text) => plain_multiline(text),
        Body::Media(media) => {
            let mut line = format!(
                "[file {} ({}, {}) media {}]",
                plain(&media.name),
                human_bytes(media.size),
                plain(&media.mime),
                hex::encode(media.media_id)
            );
            if !media.caption.is_empty() {
                line.push(' ');
                line.push_str(&plain_multiline(&media.caption));
            }
            line
        }
        Body::Unknown { kind, .. } => format!("[unsupported message (kind {kind})]"),
    }
}

/// Text with line breaks kept as spaces and other control characters made
/// visible.
fn plain_multiline(text: &str) -> String {
    plain(&text.replace(['\n', '\r', '\t'], " "))
}

/// Who wrote a message: "you" for the account's owner ([§7.1]: sender 0).
pub fn sender_name(cache: &Cache, message: &Message) -> String {
    if message.sender == 0 {
        return "you".into();
    }
    cache
        .contacts
        .get(&message.sender)
        .map(|c| plain(&c.name))
        .unwrap_or_else(|| format!("contact {}", message.sender))
}

/// `14:05` (UTC) from Unix milliseconds.
pub fn clock_time(timestamp_ms: u64) -> String {
    let minutes = timestamp_ms / 60_000;
    format!("{:02}:{:02}", (minutes / 60) % 24, minutes % 60)
}

/// One message as a line: `#12 14:05 you: hello ✓✓ (read)`.
pub fn message_line(cache: &Cache, message: &Message) -> String {
    let mut line = format!(
        "#{} {} {}: {}",
        message.message_id,
        clock_time(message.timestamp_ms),
        sender_name(cache, message),
        body_text(&message.body)
    );
    if message.sender == 0 && message.status != MessageStatus::None {
        line.push_str(&format!(
            " {} ({})",
            status_mark(message.status),
            status_word(message.status)
        ));
    }
    line
}

/// A chat as a line: `3  Echo  (2 unread)  last: echo: hi`.
pub fn chat_line(cache: &Cache, chat: &Chat) -> String {
    let mut line = format!("{:>4}  {}", chat.chat_id, plain(&chat.title));
    if chat.unread > 0 {
        line.push_str(&format!("  ({} unread)", chat.unread));
    }
    if let Some(last) = cache.messages.get(&chat.last_message_id) {
        let mut text = body_text(&last.body);
        if text.chars().count() > 50 {
            text = text.chars().take(49).collect::<String>() + "…";
        }
        line.push_str(&format!("  last: {text}"));
    }
    line
}

/// A chat in JSON.
#[derive(Serialize)]
pub struct ChatRow {
    /// The chat.
    pub chat_id: u64,
    /// Its title.
    pub title: String,
    /// The contact it is with.
    pub contact_id: u64,
    /// Unread messages.
    pub unread: u32,
    /// Its newest message, 0 for none.
    pub last_message_id: u64,
}

impl From<&Chat> for ChatRow {
    fn from(chat: &Chat) -> Self {
        Self {
            chat_id: chat.chat_id,
            title: chat.title.clone(),
            contact_id: chat.contact_id,
            unread: chat.unread,
            last_message_id: chat.last_message_id,
        }
    }
}

/// A message in JSON.
#[derive(Serialize)]
pub struct MessageRow {
    /// The message.
    pub message_id: u64,
    /// Its chat.
    pub chat_id: u64,
    /// The author's contact id, 0 for the account's owner.
    pub sender: u64,
    /// The author's name.
    pub sender_name: String,
    /// The phone's time, Unix milliseconds.
    pub timestamp_ms: u64,
    /// `received`, `sent`, `delivered` or `read`.
    pub status: &'static str,
    /// The body as one line.
    pub text: String,
    /// The body as the codec writes it in JSON.
    pub body: Body,
}

impl MessageRow {
    /// The row for `message`.
    pub fn new(cache: &Cache, message: &Message) -> Self {
        Self {
            message_id: message.message_id,
            chat_id: message.chat_id,
            sender: message.sender,
            sender_name: sender_name(cache, message),
            timestamp_ms: message.timestamp_ms,
            status: status_word(message.status),
            text: body_text(&message.body),
            body: message.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tandem_codec::session::{Contact, MediaRef};

    fn message(sender: u64, status: MessageStatus, body: Body) -> Message {
        Message {
            message_id: 7,
            chat_id: 1,
            sender,
            timestamp_ms: 3_723_000,
            status,
            body,
        }
    }

    #[test]
    fn lines_show_sender_status_and_media() {
        let mut cache = Cache::default();
        cache.contacts.insert(
            2,
            Contact {
                contact_id: 2,
                name: "Echo".into(),
            },
        );
        let sent = message(0, MessageStatus::Read, Body::Text("hi\nthere".into()));
        assert_eq!(
            message_line(&cache, &sent),
            "#7 01:02 you: hi there ✓✓ (read)"
        );
        let got = message(2, MessageStatus::None, Body::Text("yo".into()));
        assert_eq!(message_line(&cache, &got), "#7 01:02 Echo: yo");
        let media = Body::Media(MediaRef {
            media_id: [0xab; 32],
            size: 2048,
            mime: "text/plain".into(),
            name: "a.txt".into(),
            caption: "look".into(),
        });
        let text = body_text(&media);
        assert!(text.starts_with("[file a.txt (2.0 KiB, text/plain) media abab"));
        assert!(text.ends_with("] look"));
        let unknown = Body::Unknown {
            kind: 9,
            content: Bytes::new(),
        };
        assert_eq!(body_text(&unknown), "[unsupported message (kind 9)]");
    }
}
