//! Serde helpers that write byte fields as lower-case hex strings, so that
//! the JSON forms of frames (vectors, the conformance codec adapter) are
//! readable and exact.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

/// Serializes any byte container as hex.
pub(crate) fn serialize<S: Serializer>(value: &impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(value.as_ref()))
}

/// Deserializes hex into any byte container that can be built from a `Vec`
/// (`Bytes`, `Vec<u8>`, and fixed arrays, which check the length).
pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<Vec<u8>>,
{
    let text = String::deserialize(d)?;
    let bytes = hex::decode(&text).map_err(D::Error::custom)?;
    let len = bytes.len();
    T::try_from(bytes).map_err(|_| D::Error::custom(format!("wrong length {len}")))
}
