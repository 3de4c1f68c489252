//! The queue of sends not yet answered (spec §7.6, [SYNC-19]) as JSON: each
//! entry checked against the codec's limits when read back, so that a bad
//! file is refused rather than resent.

use serde::{Deserialize, Serialize};
use tandem_codec::session::{Body, InnerFrame, Send};
use tandem_proto::companion::PendingSend;

use crate::error::WebError;

/// The file format's version.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    pending: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// Hex, 16 bytes.
    client_id: String,
    chat_id: u64,
    body: Body,
}

pub(crate) fn encode(pending: &[PendingSend]) -> Result<Vec<u8>, WebError> {
    let file = File {
        version: VERSION,
        pending: pending
            .iter()
            .map(|p| Entry {
                client_id: hex::encode(p.client_id),
                chat_id: p.chat_id,
                body: p.body.clone(),
            })
            .collect(),
    };
    let mut bytes =
        serde_json::to_vec_pretty(&file).map_err(|e| WebError::Invalid(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<PendingSend>, String> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if file.version != VERSION {
        return Err(format!("unknown version {}", file.version));
    }
    file.pending
        .into_iter()
        .map(|entry| {
            let id = hex::decode(&entry.client_id).map_err(|e| format!("client_id: {e}"))?;
            let client_id = <[u8; 16]>::try_from(id.as_slice())
                .map_err(|_| "client_id: not 16 bytes".to_string())?;
            check(client_id, entry.chat_id, &entry.body)?;
            Ok(PendingSend {
                client_id,
                chat_id: entry.chat_id,
                body: entry.body,
            })
        })
        .collect()
}

/// Whether a send encodes within the spec's limits (text 1 to 4,096
/// bytes, names and captions within theirs, chat id not 0), so that a bad
/// entry is refused here rather than poisoning the queue.
pub fn check(client_id: [u8; 16], chat_id: u64, body: &Body) -> Result<(), String> {
    InnerFrame::from(Send {
        client_id,
        chat_id,
        body: body.clone(),
    })
    .to_bytes()
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::session::MediaRef;

    #[test]
    fn pending_sends_survive_encoding_in_order() {
        let pending = vec![
            PendingSend {
                client_id: [7; 16],
                chat_id: 3,
                body: Body::Text("first".into()),
            },
            PendingSend {
                client_id: [8; 16],
                chat_id: 1,
                body: Body::Media(MediaRef {
                    media_id: [1; 32],
                    size: 10,
                    mime: "image/png".into(),
                    name: "a.png".into(),
                    caption: String::new(),
                }),
            },
        ];
        assert_eq!(decode(&encode(&pending).unwrap()).unwrap(), pending);
        assert!(decode(br#"{"version":2,"pending":[]}"#).is_err());
        let entry = |id: &str, chat: u64, text: &str| {
            format!(
                r#"{{"version":1,"pending":[{{"client_id":"{id}","chat_id":{chat},"body":{{"kind":"text","text":"{text}"}}}}]}}"#
            )
        };
        let good = "00".repeat(16);
        assert!(decode(entry(&good, 1, "x").as_bytes()).is_ok());
        assert!(decode(entry("00", 1, "x").as_bytes()).is_err());
        assert!(decode(entry(&good, 0, "x").as_bytes()).is_err());
        assert!(decode(entry(&good, 1, "").as_bytes()).is_err());
        assert!(decode(entry(&good, 1, &"x".repeat(4097)).as_bytes()).is_err());
    }
}
