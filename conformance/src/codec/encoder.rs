//! Encoder cases of the codec target (spec [ENC-08], §12.7 `encode`):
//! values whose JSON form is well-formed but that break a rule of §1.4 or
//! §3 (a link id of 0, an empty or oversized payload, a string over its
//! limit, a critical type as unknown, a QR relay URL that is not ws://),
//! which an encoder must refuse rather than write. They need the adapter's
//! `encode` capability.

use serde_json::{Value, json};

use crate::case::{CaseMeta, Role};

/// One value an encoder must refuse.
#[derive(Clone, Debug)]
pub struct EncoderCase {
    /// `codec.ENC-08.<n>`.
    pub id: String,
    /// What is wrong with the value.
    pub title: &'static str,
    /// The type (decoder name) to encode it as.
    pub decoder: &'static str,
    /// The JSON form.
    pub value: Value,
    /// Other requirements it checks.
    pub also: &'static [&'static str],
}

impl EncoderCase {
    /// The request line.
    pub fn request(&self) -> String {
        format!("encode {} {}", self.decoder, self.value)
    }

    /// The case's description.
    pub fn meta(&self) -> CaseMeta {
        let mut requirements = vec!["ENC-08".to_owned()];
        requirements.extend(self.also.iter().map(|r| (*r).to_owned()));
        requirements.push("CONF-14".to_owned());
        CaseMeta {
            id: self.id.clone(),
            role: Role::Codec,
            requirements,
            title: format!("the encoder refuses {}", self.title),
            capabilities: vec!["encode".to_owned()],
            faults: Vec::new(),
        }
    }
}

fn qr(relay_url: &str) -> Value {
    json!({
        "channel_id": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        "companion_key": "20".repeat(32),
        "pairing_secret": "40".repeat(32),
        "ttl_s": 60,
        "relay_url": relay_url,
    })
}

/// Every encoder case, numbered in a fixed order.
pub fn cases() -> Vec<EncoderCase> {
    let list: Vec<(&'static str, &'static str, Value, &'static [&'static str])> = vec![
        (
            "Data with link id 0 (§3.2)",
            "envelope",
            json!({"type": "data", "link_id": 0, "payload": "00"}),
            &[],
        ),
        (
            "Data with an empty payload (rest<65535> holds at least one byte)",
            "envelope",
            json!({"type": "data", "link_id": 1, "payload": ""}),
            &["ENC-02"],
        ),
        (
            "Data with a payload of 65,536 bytes",
            "envelope",
            json!({"type": "data", "link_id": 1, "payload": "00".repeat(65_536)}),
            &["ENC-01"],
        ),
        (
            "an Error message of 129 bytes (str8<128>)",
            "envelope",
            json!({"type": "error", "code": 4014, "link_id": 0, "message": "x".repeat(129)}),
            &["ENC-01"],
        ),
        (
            "LinkClosed with link id 0",
            "envelope",
            json!({"type": "link_closed", "link_id": 0, "code": 1000}),
            &["ENC-06"],
        ),
        (
            "an unknown frame of a critical type (0x05)",
            "envelope",
            json!({"type": "unknown", "frame_type": 5, "body": "00"}),
            &["ENC-09"],
        ),
        (
            "a QR payload whose relay URL has 129 bytes",
            "qr",
            qr(&format!("ws://{}", "a".repeat(124))),
            &["ENC-01"],
        ),
        (
            "a QR payload whose relay URL is not ws:// or wss://",
            "qr",
            qr("http://x"),
            &["QR-05"],
        ),
    ];
    list.into_iter()
        .enumerate()
        .map(|(n, (title, decoder, value, also))| EncoderCase {
            id: format!("codec.ENC-08.{}", n + 1),
            title,
            decoder,
            value,
            also,
        })
        .collect()
}
