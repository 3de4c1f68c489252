//! The Tandem wire codec: every frame of the Tandem protocol, version 1,
//! decoded with nom and encoded with `bytes`. It is the executable form of
//! the spec's byte layouts (`spec/`, §1.4 primitives, §3 envelope, §4.1 QR
//! payload, §4.2 and §5.1 handshake payloads, §6 inner session frames).
//!
//! The codec is pure: no IO, no crypto, no clock. Decoding is strict (no
//! trailing bytes, every length bounded before use) and zero-copy for
//! payloads and media chunks, which are [`bytes::Bytes`] slices of the input.
//! Every failure is one [`DecodeError`] that names the error kind, the byte
//! offset, the field, the wire [`Code`] to send and the requirement id.
//!
//! ```
//! use bytes::Bytes;
//! use tandem_codec::envelope::{Data, EnvelopeFrame};
//!
//! let frame = EnvelopeFrame::from(Data { link_id: 7, payload: Bytes::from_static(b"noise") });
//! let wire = frame.to_bytes().unwrap();
//! assert_eq!(EnvelopeFrame::decode(&wire).unwrap(), frame);
//! ```

pub mod code;
pub mod envelope;
pub mod error;
pub mod handshake;
pub mod limits;
mod primitives;
pub mod qr;
pub mod session;
#[doc(hidden)]
pub mod testing;

#[cfg(feature = "serde")]
mod hex_serde;

pub use code::Code;
pub use error::{DecodeError, EncodeError, ErrorKind, Layer};
