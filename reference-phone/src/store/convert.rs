//! Rows to values and back (spec §7.1, §7.4): `u64` ids and counters stored
//! bit for bit in SQLite's signed integers, messages by column, events as
//! their canonical `Event` frame bytes so that the log is the wire format.

use bytes::Bytes;
use rusqlite::Row;
use tandem_codec::session::{
    Body, Chat, Contact, Event, EventBody, InnerFrame, MediaRef, Message, MessageStatus, body_kind,
};
use tandem_proto::store::StoreError;

/// A `u64` as SQLite stores it (same 64 bits). Ids the core allocates stay
/// below 2^63, so their order is kept too.
pub(crate) fn to_sql(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// The `u64` stored by [`to_sql`].
pub(crate) fn from_sql(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// An SQLite failure as the core sees it.
pub(crate) fn db(err: rusqlite::Error) -> StoreError {
    StoreError(format!("sqlite: {err}"))
}

/// Bad data in a row: the database was damaged or edited by hand.
pub(crate) fn damaged(what: impl std::fmt::Display) -> StoreError {
    StoreError(format!("damaged row: {what}"))
}

pub(crate) const CHAT_COLUMNS: &str = "chat_id, contact_id, title, unread, last_message_id";

pub(crate) fn chat(row: &Row<'_>) -> rusqlite::Result<Chat> {
    Ok(Chat {
        chat_id: from_sql(row.get(0)?),
        contact_id: from_sql(row.get(1)?),
        title: row.get(2)?,
        unread: row.get(3)?,
        last_message_id: from_sql(row.get(4)?),
    })
}

pub(crate) fn contact(row: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        contact_id: from_sql(row.get(0)?),
        name: row.get(1)?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "message_id, chat_id, sender, timestamp_ms, status, \
     body_kind, body_text, body_blob, media_id, media_size, media_mime, media_name, media_caption";

/// A message row with its raw body columns, checked by [`message`].
pub(crate) struct MessageRow {
    message_id: i64,
    chat_id: i64,
    sender: i64,
    timestamp_ms: i64,
    status: i64,
    body_kind: i64,
    body_text: Option<String>,
    body_blob: Option<Vec<u8>>,
    media_id: Option<Vec<u8>>,
    media_size: Option<i64>,
    media_mime: Option<String>,
    media_name: Option<String>,
    media_caption: Option<String>,
}

pub(crate) fn message_row(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        message_id: row.get(0)?,
        chat_id: row.get(1)?,
        sender: row.get(2)?,
        timestamp_ms: row.get(3)?,
        status: row.get(4)?,
        body_kind: row.get(5)?,
        body_text: row.get(6)?,
        body_blob: row.get(7)?,
        media_id: row.get(8)?,
        media_size: row.get(9)?,
        media_mime: row.get(10)?,
        media_name: row.get(11)?,
        media_caption: row.get(12)?,
    })
}

/// Checks a message row; damaged rows are an error, not a panic.
pub(crate) fn message(row: MessageRow) -> Result<Message, StoreError> {
    let id = row.message_id;
    let status = u8::try_from(row.status)
        .ok()
        .and_then(MessageStatus::from_u8)
        .ok_or_else(|| damaged(format!("message {id}: status {}", row.status)))?;
    let kind = u8::try_from(row.body_kind)
        .map_err(|_| damaged(format!("message {id}: body kind {}", row.body_kind)))?;
    let body = match kind {
        body_kind::TEXT => Body::Text(
            row.body_text
                .ok_or_else(|| damaged(format!("message {id}: text missing")))?,
        ),
        body_kind::MEDIA => {
            let media_id = row
                .media_id
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| damaged(format!("message {id}: media id")))?;
            let missing = || damaged(format!("message {id}: media fields"));
            Body::Media(MediaRef {
                media_id,
                size: from_sql(row.media_size.ok_or_else(missing)?),
                mime: row.media_mime.ok_or_else(missing)?,
                name: row.media_name.ok_or_else(missing)?,
                caption: row.media_caption.ok_or_else(missing)?,
            })
        }
        kind => Body::Unknown {
            kind,
            content: Bytes::from(row.body_blob.unwrap_or_default()),
        },
    };
    Ok(Message {
        message_id: from_sql(row.message_id),
        chat_id: from_sql(row.chat_id),
        sender: from_sql(row.sender),
        timestamp_ms: from_sql(row.timestamp_ms),
        status,
        body,
    })
}

/// The body columns of a message: kind, text, blob, and the media fields.
pub(crate) struct BodyColumns<'a> {
    pub(crate) kind: i64,
    pub(crate) text: Option<&'a str>,
    pub(crate) blob: Option<&'a [u8]>,
    pub(crate) media: Option<&'a MediaRef>,
}

pub(crate) fn body_columns(body: &Body) -> BodyColumns<'_> {
    let kind = i64::from(body.kind());
    match body {
        Body::Text(text) => BodyColumns {
            kind,
            text: Some(text),
            blob: None,
            media: None,
        },
        Body::Media(media) => BodyColumns {
            kind,
            text: None,
            blob: None,
            media: Some(media),
        },
        Body::Unknown { content, .. } => BodyColumns {
            kind,
            text: None,
            blob: Some(content),
            media: None,
        },
    }
}

/// An event as stored: its `Event` frame, exactly as it goes on the wire.
pub(crate) fn encode_event(seq: u64, body: &EventBody) -> Result<Vec<u8>, StoreError> {
    let frame = InnerFrame::from(Event {
        seq,
        body: body.clone(),
    });
    frame
        .to_bytes()
        .map(|bytes| bytes.to_vec())
        .map_err(|err| StoreError(format!("event {seq} cannot be encoded: {err}")))
}

/// Decodes a stored event and checks that it is the one of row `seq`.
pub(crate) fn decode_event(seq: u64, frame: Vec<u8>) -> Result<EventBody, StoreError> {
    match InnerFrame::decode(&Bytes::from(frame)) {
        Ok(InnerFrame::Event(event)) if event.seq == seq => Ok(event.body),
        Ok(other) => Err(damaged(format!("event {seq}: holds {}", other.name()))),
        Err(err) => Err(damaged(format!("event {seq}: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_survives_the_round_trip() {
        for value in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_sql(to_sql(value)), value);
        }
    }

    #[test]
    fn events_round_trip_and_are_tied_to_their_seq() {
        let body = EventBody::ChatRead {
            chat_id: 3,
            up_to: 9,
        };
        let frame = encode_event(7, &body).unwrap();
        assert_eq!(decode_event(7, frame.clone()).unwrap(), body);
        assert!(decode_event(8, frame).is_err());
        assert!(decode_event(1, vec![0x17]).is_err());
    }
}
