//! The QR payload (spec §4.1): `TANDEM:` followed by the unpadded base32 of
//! a binary payload naming the pairing channel, the companion's static key,
//! the one-time pairing secret, the channel lifetime and the relay URL.

use bytes::{BufMut, BytesMut};
use data_encoding::BASE32_NOPAD;

use crate::error::{DecodeError, EncodeError, ErrorKind, Layer};
use crate::limits::{MAX_QR_TEXT, MAX_RELAY_URL};
use crate::primitives::{self, Fail, PResult, array, put_str8, str8, u8, u16};

/// The text prefix, matched without regard to case ([QR-02]).
pub const PREFIX: &str = "TANDEM:";
/// The payload version this codec reads and writes.
pub const VERSION: u8 = 1;

/// What a companion's QR code tells the primary.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QrPayload {
    /// The pairing channel from `ChannelOpened`.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub channel_id: [u8; 16],
    /// The companion's static X25519 public key.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub companion_key: [u8; 32],
    /// The one-time secret used as the Noise PSK.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub pairing_secret: [u8; 32],
    /// The channel lifetime the relay granted, in whole seconds
    /// (informative only: the relay enforces expiry).
    pub ttl_s: u16,
    /// The relay's `ws://` or `wss://` URL, at most 128 bytes.
    pub relay_url: String,
}

impl QrPayload {
    /// Decodes the text read from a QR code.
    ///
    /// Errors about the prefix and the base32 give offsets in the text;
    /// errors inside the payload give offsets in the decoded payload.
    pub fn from_text(text: &str) -> Result<Self, DecodeError> {
        let error = |kind, offset, field| DecodeError {
            kind,
            offset,
            field,
            layer: Layer::Qr,
        };
        if text.is_empty() {
            return Err(error(ErrorKind::Empty, 0, "prefix"));
        }
        // [ENC-01] Every length is checked before it is used.
        if text.len() > MAX_QR_TEXT {
            return Err(error(ErrorKind::LengthExceedsLimit, 0, "text"));
        }
        // [QR-02] A primary MUST match the prefix `TANDEM:` without regard
        // to case, and MUST reject a text without it as `invalid_prefix`.
        let prefix = text.get(..PREFIX.len());
        if !prefix.is_some_and(|p| p.eq_ignore_ascii_case(PREFIX)) {
            return Err(error(ErrorKind::InvalidPrefix, 0, "prefix"));
        }
        let encoded = &text.as_bytes()[PREFIX.len()..];
        // [QR-03] A primary MUST reject base32 that uses characters outside
        // the upper-case alphabet, padding, or non-zero trailing bits.
        let payload = BASE32_NOPAD.decode(encoded).map_err(|e| {
            error(
                ErrorKind::InvalidBase32,
                PREFIX.len() + e.position,
                "payload",
            )
        })?;
        Self::from_binary(&payload)
    }

    /// Decodes the binary payload (after base32).
    pub fn from_binary(input: &[u8]) -> Result<Self, DecodeError> {
        primitives::run(input, Layer::Qr, Self::parse)
    }

    fn parse(input: &[u8]) -> PResult<'_, Self> {
        let start = input;
        let (input, version) = u8("ver")(input)?;
        // [QR-04] A primary MUST reject a `ver` other than `0x01` as
        // `unsupported_version` and a non-zero `flags` as `reserved_nonzero`.
        if version != VERSION {
            return Err(Fail::at(start, ErrorKind::UnsupportedVersion, "ver"));
        }
        let (rest, flags) = u8("flags")(input)?;
        if flags != 0 {
            return Err(Fail::at(input, ErrorKind::ReservedNonzero, "flags"));
        }
        let (rest, channel_id) = array::<16>("channel_id")(rest)?;
        let (rest, companion_key) = array::<32>("companion_key")(rest)?;
        let (rest, pairing_secret) = array::<32>("pairing_secret")(rest)?;
        let (rest, ttl_s) = u16("ttl_s")(rest)?;
        let url_start = rest;
        let (rest, relay_url) = str8(MAX_RELAY_URL, "relay_url")(rest)?;
        // [QR-05] A primary MUST reject a `relay_url` that is not an
        // absolute `ws://` or `wss://` URL as `invalid_value`.
        if !is_relay_url(relay_url) {
            return Err(Fail::at(url_start, ErrorKind::InvalidValue, "relay_url"));
        }
        let payload = Self {
            channel_id,
            companion_key,
            pairing_secret,
            ttl_s,
            relay_url: relay_url.to_owned(),
        };
        Ok((rest, payload))
    }

    /// Encodes the binary payload.
    pub fn to_binary(&self) -> Result<Vec<u8>, EncodeError> {
        if !is_relay_url(&self.relay_url) {
            return Err(EncodeError::InvalidValue { field: "relay_url" });
        }
        let mut buf = BytesMut::with_capacity(85 + self.relay_url.len());
        buf.put_u8(VERSION);
        buf.put_u8(0);
        buf.put_slice(&self.channel_id);
        buf.put_slice(&self.companion_key);
        buf.put_slice(&self.pairing_secret);
        buf.put_u16(self.ttl_s);
        put_str8(&mut buf, &self.relay_url, MAX_RELAY_URL, "relay_url")?;
        Ok(buf.to_vec())
    }

    /// Encodes the text to put in the QR code (upper case, so that it fits
    /// the QR alphanumeric mode).
    pub fn to_text(&self) -> Result<String, EncodeError> {
        Ok(format!(
            "{PREFIX}{}",
            BASE32_NOPAD.encode(&self.to_binary()?)
        ))
    }
}

/// An absolute `ws://` or `wss://` URL with a non-empty remainder of
/// printable ASCII (RFC 3986 URLs are ASCII; hosts use punycode).
fn is_relay_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"));
    rest.is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> QrPayload {
        QrPayload {
            channel_id: [0x11; 16],
            companion_key: [0x22; 32],
            pairing_secret: [0x33; 32],
            ttl_s: 60,
            relay_url: "ws://127.0.0.1:8080".into(),
        }
    }

    #[test]
    fn text_round_trips_and_fits_alphanumeric_mode() {
        let text = sample().to_text().unwrap();
        assert!(text.starts_with("TANDEM:"));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b':')
        );
        assert_eq!(QrPayload::from_text(&text).unwrap(), sample());
        let lower_prefix = text.replacen("TANDEM:", "tandem:", 1);
        assert_eq!(QrPayload::from_text(&lower_prefix).unwrap(), sample());
    }

    #[test]
    fn largest_payload_fits_the_text_limit() {
        let mut payload = sample();
        payload.relay_url = format!("wss://{}", "a".repeat(MAX_RELAY_URL - 6));
        let text = payload.to_text().unwrap();
        assert_eq!(text.len(), MAX_QR_TEXT);
        assert_eq!(QrPayload::from_text(&text).unwrap(), payload);
    }

    #[test]
    fn rejects_bad_prefix_base32_version_flags_and_url() {
        let text = sample().to_text().unwrap();
        let kind = |t: &str| QrPayload::from_text(t).unwrap_err().kind;
        assert_eq!(kind("HTTPS://example"), ErrorKind::InvalidPrefix);
        assert_eq!(
            kind(&text.to_lowercase().replacen("tandem:", "TANDEM:", 1)),
            ErrorKind::InvalidBase32
        );
        assert_eq!(kind(&format!("{text}=")), ErrorKind::InvalidBase32);

        let mut binary = sample().to_binary().unwrap();
        binary[0] = 2;
        assert_eq!(
            QrPayload::from_binary(&binary).unwrap_err().kind,
            ErrorKind::UnsupportedVersion
        );
        binary[0] = 1;
        binary[1] = 0x80;
        let err = QrPayload::from_binary(&binary).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::ReservedNonzero, 1));

        let mut payload = sample();
        payload.relay_url = "http://example.com".into();
        assert!(payload.to_binary().is_err());
        let mut binary = sample().to_binary().unwrap();
        let url_at = binary.len() - sample().relay_url.len();
        binary[url_at + 1] = b'x'; // "wx://..."
        let err = QrPayload::from_binary(&binary).unwrap_err();
        assert_eq!(
            (err.kind, err.offset),
            (ErrorKind::InvalidValue, url_at - 1)
        );
    }

    #[test]
    fn non_canonical_trailing_bits_are_rejected() {
        let text = sample().to_text().unwrap();
        // The last base32 character carries unused low bits; set one.
        let mut bytes = text.into_bytes();
        let last = bytes.len() - 1;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let value = alphabet.iter().position(|&c| c == bytes[last]).unwrap();
        bytes[last] = alphabet[value | 1];
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            QrPayload::from_text(&text).unwrap_err().kind,
            ErrorKind::InvalidBase32
        );
    }
}
