//! Error and close codes: one open `u16` code space shared by WebSocket
//! close frames, `LinkClosed`, `Error`, `Close`, `SendFailed` and
//! `TransferCancel` (spec §10.1, §10.2). Unknown codes are kept as numbers.

/// Declares the named codes once: constants, names and the list of all.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $wire:literal;)*) => {
        impl Code {
            $($(#[$doc])* pub const $name: Code = Code($value);)*

            /// Every code the spec names, in table order.
            pub const KNOWN: &'static [Code] = &[$(Code::$name),*];

            /// The spec's name for this code, or `None` for a code this
            /// version does not define.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($wire),)*
                    _ => None,
                }
            }
        }
    };
}

/// A wire code (spec §10.2). Open: any `u16` is representable, and
/// [`Code::range`] says how an unknown one is handled ([ERR-01]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Code(pub u16);

codes! {
    /// Closing on purpose.
    NORMAL_CLOSURE = 1000, "normal_closure";
    /// The relay shuts down or the client leaves.
    GOING_AWAY = 1001, "going_away";
    /// WebSocket-level protocol error.
    PROTOCOL_ERROR = 1002, "protocol_error";
    /// A text WebSocket message.
    UNSUPPORTED_DATA = 1003, "unsupported_data";
    /// A WebSocket message above the envelope frame limit.
    MESSAGE_TOO_BIG = 1009, "message_too_big";
    /// The sender failed internally (for example its durable store); it
    /// acknowledged nothing that depended on the failure.
    INTERNAL_ERROR = 1011, "internal_error";
    /// An envelope frame that does not decode.
    MALFORMED_FRAME = 4000, "malformed_frame";
    /// An envelope frame not allowed for this role or state.
    UNEXPECTED_FRAME = 4001, "unexpected_frame";
    /// Nothing received for `IDLE_TIMEOUT`.
    IDLE_TIMEOUT = 4002, "idle_timeout";
    /// No first frame within `SETUP_TIMEOUT`.
    SETUP_TIMEOUT = 4003, "setup_timeout";
    /// The client does not read; its send queue is full.
    SLOW_CONSUMER = 4004, "slow_consumer";
    /// The relay is at `MAX_CONNECTIONS`.
    OVER_CAPACITY = 4005, "over_capacity";
    /// `RouteProof` was wrong.
    ROUTE_PROOF_FAILED = 4006, "route_proof_failed";
    /// A newer connection registered the route.
    ROUTE_REPLACED = 4007, "route_replaced";
    /// `JoinChannel` for an unknown or expired channel.
    UNKNOWN_CHANNEL = 4010, "unknown_channel";
    /// `JoinChannel` for a channel already joined.
    CHANNEL_TAKEN = 4011, "channel_taken";
    /// A channel's lifetime is over.
    CHANNEL_EXPIRED = 4012, "channel_expired";
    /// Channel limits reached.
    TOO_MANY_CHANNELS = 4013, "too_many_channels";
    /// A link id the sender does not own.
    UNKNOWN_LINK = 4014, "unknown_link";
    /// `Data` from a companion whose primary is offline.
    PRIMARY_OFFLINE = 4015, "primary_offline";
    /// `MAX_LINKS_PER_ROUTE` reached.
    ROUTE_FULL = 4016, "route_full";
    /// The other end of the link disconnected.
    PEER_GONE = 4017, "peer_gone";
    /// A handshake message failed to decrypt or decode.
    HANDSHAKE_FAILED = 4100, "handshake_failed";
    /// Reconnect from a companion key that is not linked.
    UNKNOWN_DEVICE = 4101, "unknown_device";
    /// The companion was revoked.
    DEVICE_REVOKED = 4102, "device_revoked";
    /// The person declined the link.
    PAIRING_REJECTED = 4103, "pairing_rejected";
    /// The primary has `MAX_COMPANIONS`.
    DEVICE_LIMIT = 4104, "device_limit";
    /// A handshake or confirmation was not done in time.
    HANDSHAKE_TIMEOUT = 4105, "handshake_timeout";
    /// A transport message failed to decrypt.
    DECRYPT_FAILED = 4110, "decrypt_failed";
    /// An inner frame failed to decode.
    MALFORMED_SESSION_FRAME = 4111, "malformed_session_frame";
    /// An inner frame not allowed in this state or role.
    UNEXPECTED_SESSION_FRAME = 4112, "unexpected_session_frame";
    /// More than `REKEY_INTERVAL` messages under one key.
    REKEY_REQUIRED = 4113, "rekey_required";
    /// The primary confirms a companion's `Unlink`.
    UNLINKED = 4114, "unlinked";
    /// A request for an unknown chat.
    UNKNOWN_CHAT = 4200, "unknown_chat";
    /// A request with values out of range.
    INVALID_REQUEST = 4201, "invalid_request";
    /// An `Ack` for an unsent seq or going backwards.
    ACK_OUT_OF_RANGE = 4202, "ack_out_of_range";
    /// A file does not match its media id.
    MEDIA_HASH_MISMATCH = 4300, "media_hash_mismatch";
    /// An unknown media id.
    MEDIA_NOT_FOUND = 4301, "media_not_found";
    /// A size above `MAX_MEDIA_SIZE`.
    MEDIA_TOO_LARGE = 4302, "media_too_large";
    /// A chunk without credit, or credit above `MAX_CREDIT`.
    CREDIT_EXCEEDED = 4303, "credit_exceeded";
    /// A chunk at the wrong offset, or a range outside the file.
    INVALID_RANGE = 4304, "invalid_range";
    /// A chunk or credit for an inactive transfer.
    UNKNOWN_TRANSFER = 4305, "unknown_transfer";
    /// `MAX_TRANSFERS` active.
    TOO_MANY_TRANSFERS = 4306, "too_many_transfers";
}

/// The range a code falls in, which says how to treat an unknown code
/// (spec §10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRange {
    /// 1000–1015: WebSocket close codes (RFC 6455).
    WebSocket,
    /// 4000–4099: transport and relay.
    Relay,
    /// 4100–4199: handshake and session; always fatal for the session.
    Session,
    /// 4200–4299: sync.
    Sync,
    /// 4300–4399: media.
    Media,
    /// Anything else: reserved.
    Reserved,
}

impl Code {
    /// The range this code belongs to.
    pub fn range(self) -> CodeRange {
        match self.0 {
            1000..=1015 => CodeRange::WebSocket,
            4000..=4099 => CodeRange::Relay,
            4100..=4199 => CodeRange::Session,
            4200..=4299 => CodeRange::Sync,
            4300..=4399 => CodeRange::Media,
            _ => CodeRange::Reserved,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{} (unknown)", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_keep_their_number_and_range() {
        let code = Code(4199);
        assert_eq!(code.name(), None);
        assert_eq!(code.range(), CodeRange::Session);
        assert_eq!(code.to_string(), "4199 (unknown)");
        assert_eq!(Code::DECRYPT_FAILED.to_string(), "4110 (decrypt_failed)");
    }

    #[test]
    fn known_codes_are_unique() {
        let mut values: Vec<u16> = Code::KNOWN.iter().map(|c| c.0).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), Code::KNOWN.len());
    }
}
