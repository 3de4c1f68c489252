//! Route frames (spec §3.4, §3.5): registration with proof of ownership,
//! and a companion's attachment.

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::primitives::{PResult, array, bool, check_nonzero, nonzero_u32};

/// Declares a frame whose body is one 32-byte key or MAC.
macro_rules! key_frame {
    ($(#[$doc:meta])* $name:ident, $field:ident, $field_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name {
            #[doc = $field_doc]
            #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
            pub $field: [u8; 32],
        }

        impl $name {
            pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
                let (input, $field) = array::<32>(stringify!($field))(input)?;
                Ok((input, Self { $field }))
            }

            pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
                buf.put_slice(&self.$field);
                Ok(())
            }
        }
    };
}

key_frame!(
    /// Primary → relay: register the route named by this primary key.
    RegisterRoute,
    primary_key,
    "The primary's static X25519 public key."
);
key_frame!(
    /// Relay → primary: prove you hold the key (spec §3.4 step 2).
    RouteChallenge,
    relay_ephemeral,
    "The relay's fresh ephemeral X25519 public key for this attempt."
);
key_frame!(
    /// Primary → relay: the proof (spec §3.4 step 3).
    RouteProof,
    mac,
    "HMAC-SHA256 over the label, primary key and relay ephemeral."
);
key_frame!(
    /// Companion → relay: attach to the route of this primary key.
    AttachRoute,
    primary_key,
    "The pinned primary key."
);

/// Relay → companion: attached; whether the primary is online now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouteAttached {
    /// The companion's link id; never 0.
    pub link_id: u32,
    /// Whether a primary holds the route now.
    pub primary_online: bool,
}

impl RouteAttached {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        let (input, primary_online) = bool("primary_online")(input)?;
        Ok((
            input,
            Self {
                link_id,
                primary_online,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_u32(self.link_id);
        buf.put_u8(u8::from(self.primary_online));
        Ok(())
    }
}
