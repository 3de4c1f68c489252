//! The relay envelope (spec §3): the one frame each WebSocket message
//! carries, which the relay reads. One file per family: pairing channels
//! (§3.3), routes (§3.4), links and data (§3.5), keepalive and errors
//! (§3.6, §3.7).

mod channel;
mod control;
mod link;
mod route;

use bytes::{BufMut, Bytes, BytesMut};

pub use channel::{ChannelJoined, ChannelOpened, JoinChannel};
pub use control::{Error, Ping, Pong};
pub use link::{Data, LinkClosed, LinkOpened, PeerState};
pub use route::{AttachRoute, RegisterRoute, RouteAttached, RouteChallenge, RouteProof};

use crate::error::{DecodeError, EncodeError, ErrorKind, Layer};
use crate::primitives::{self, Fail, PResult};

/// Envelope frame type codes (spec §3.2).
pub mod frame_type {
    /// `OpenChannel`.
    pub const OPEN_CHANNEL: u8 = 0x01;
    /// `ChannelOpened`.
    pub const CHANNEL_OPENED: u8 = 0x02;
    /// `JoinChannel`.
    pub const JOIN_CHANNEL: u8 = 0x03;
    /// `ChannelJoined`.
    pub const CHANNEL_JOINED: u8 = 0x04;
    /// `RegisterRoute`.
    pub const REGISTER_ROUTE: u8 = 0x05;
    /// `RouteChallenge`.
    pub const ROUTE_CHALLENGE: u8 = 0x06;
    /// `RouteProof`.
    pub const ROUTE_PROOF: u8 = 0x07;
    /// `RouteRegistered`.
    pub const ROUTE_REGISTERED: u8 = 0x08;
    /// `AttachRoute`.
    pub const ATTACH_ROUTE: u8 = 0x09;
    /// `RouteAttached`.
    pub const ROUTE_ATTACHED: u8 = 0x0A;
    /// `LinkOpened`.
    pub const LINK_OPENED: u8 = 0x0B;
    /// `PeerState`.
    pub const PEER_STATE: u8 = 0x0C;
    /// `LinkClosed`.
    pub const LINK_CLOSED: u8 = 0x0D;
    /// `Data`.
    pub const DATA: u8 = 0x0E;
    /// `Ping`.
    pub const PING: u8 = 0x0F;
    /// `Pong`.
    pub const PONG: u8 = 0x10;
    /// `Error`.
    pub const ERROR: u8 = 0x11;
    /// First ignorable type code (spec §1.6).
    pub const FIRST_IGNORABLE: u8 = 0x80;
}

/// One envelope frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum EnvelopeFrame {
    /// Companion asks for a pairing channel.
    OpenChannel,
    /// Relay grants a pairing channel.
    ChannelOpened(ChannelOpened),
    /// Primary joins a pairing channel.
    JoinChannel(JoinChannel),
    /// Relay confirms the primary joined.
    ChannelJoined(ChannelJoined),
    /// Primary asks to register its route.
    RegisterRoute(RegisterRoute),
    /// Relay challenges the primary.
    RouteChallenge(RouteChallenge),
    /// Primary proves it holds the route's private key.
    RouteProof(RouteProof),
    /// Relay confirms the route.
    RouteRegistered,
    /// Companion attaches to a primary's route.
    AttachRoute(AttachRoute),
    /// Relay confirms the attachment.
    RouteAttached(RouteAttached),
    /// Relay tells the primary a companion is attached.
    LinkOpened(LinkOpened),
    /// Relay tells a companion whether its peer is online.
    PeerState(PeerState),
    /// A link ends.
    LinkClosed(LinkClosed),
    /// An opaque payload for the other end of a link.
    Data(Data),
    /// Keepalive request.
    Ping(Ping),
    /// Keepalive answer.
    Pong(Pong),
    /// A refused request.
    Error(Error),
    /// An ignorable frame type this version does not know (spec §1.6,
    /// [ENC-10]); kept so that it can be logged and skipped.
    Unknown {
        /// The type code, `0x80` or above.
        frame_type: u8,
        /// The body, uninterpreted.
        #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
        body: Bytes,
    },
}

impl EnvelopeFrame {
    /// Decodes one envelope frame from a whole WebSocket message. `Data`
    /// payloads are zero-copy slices of `input`.
    pub fn decode(input: &Bytes) -> Result<Self, DecodeError> {
        primitives::run(input, Layer::Envelope, |i| parse(input, i))
    }

    /// Appends the encoded frame to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u8(self.frame_type());
        match self {
            Self::OpenChannel | Self::RouteRegistered => Ok(()),
            Self::ChannelOpened(f) => f.encode_body(buf),
            Self::JoinChannel(f) => f.encode_body(buf),
            Self::ChannelJoined(f) => f.encode_body(buf),
            Self::RegisterRoute(f) => f.encode_body(buf),
            Self::RouteChallenge(f) => f.encode_body(buf),
            Self::RouteProof(f) => f.encode_body(buf),
            Self::AttachRoute(f) => f.encode_body(buf),
            Self::RouteAttached(f) => f.encode_body(buf),
            Self::LinkOpened(f) => f.encode_body(buf),
            Self::PeerState(f) => f.encode_body(buf),
            Self::LinkClosed(f) => f.encode_body(buf),
            Self::Data(f) => f.encode_body(buf),
            Self::Ping(f) => f.encode_body(buf),
            Self::Pong(f) => f.encode_body(buf),
            Self::Error(f) => f.encode_body(buf),
            Self::Unknown { frame_type, body } => {
                if *frame_type < frame_type::FIRST_IGNORABLE {
                    return Err(EncodeError::InvalidValue { field: "type" });
                }
                buf.put_slice(body);
                Ok(())
            }
        }
    }

    /// Encodes the frame into a new buffer.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len_hint());
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }

    fn encoded_len_hint(&self) -> usize {
        match self {
            Self::Data(data) => 5 + data.payload.len(),
            Self::Unknown { body, .. } => 1 + body.len(),
            _ => 64,
        }
    }

    /// The frame's type code.
    pub fn frame_type(&self) -> u8 {
        use frame_type::*;
        match self {
            Self::OpenChannel => OPEN_CHANNEL,
            Self::ChannelOpened(_) => CHANNEL_OPENED,
            Self::JoinChannel(_) => JOIN_CHANNEL,
            Self::ChannelJoined(_) => CHANNEL_JOINED,
            Self::RegisterRoute(_) => REGISTER_ROUTE,
            Self::RouteChallenge(_) => ROUTE_CHALLENGE,
            Self::RouteProof(_) => ROUTE_PROOF,
            Self::RouteRegistered => ROUTE_REGISTERED,
            Self::AttachRoute(_) => ATTACH_ROUTE,
            Self::RouteAttached(_) => ROUTE_ATTACHED,
            Self::LinkOpened(_) => LINK_OPENED,
            Self::PeerState(_) => PEER_STATE,
            Self::LinkClosed(_) => LINK_CLOSED,
            Self::Data(_) => DATA,
            Self::Ping(_) => PING,
            Self::Pong(_) => PONG,
            Self::Error(_) => ERROR,
            Self::Unknown { frame_type, .. } => *frame_type,
        }
    }

    /// The spec's name of the frame type, for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::OpenChannel => "OpenChannel",
            Self::ChannelOpened(_) => "ChannelOpened",
            Self::JoinChannel(_) => "JoinChannel",
            Self::ChannelJoined(_) => "ChannelJoined",
            Self::RegisterRoute(_) => "RegisterRoute",
            Self::RouteChallenge(_) => "RouteChallenge",
            Self::RouteProof(_) => "RouteProof",
            Self::RouteRegistered => "RouteRegistered",
            Self::AttachRoute(_) => "AttachRoute",
            Self::RouteAttached(_) => "RouteAttached",
            Self::LinkOpened(_) => "LinkOpened",
            Self::PeerState(_) => "PeerState",
            Self::LinkClosed(_) => "LinkClosed",
            Self::Data(_) => "Data",
            Self::Ping(_) => "Ping",
            Self::Pong(_) => "Pong",
            Self::Error(_) => "Error",
            Self::Unknown { .. } => "Unknown",
        }
    }
}

fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, EnvelopeFrame> {
    use frame_type::*;
    let (body, ty) = primitives::u8("type")(input)?;
    match ty {
        OPEN_CHANNEL => Ok((body, EnvelopeFrame::OpenChannel)),
        CHANNEL_OPENED => ChannelOpened::parse(body).map(|(r, f)| (r, f.into())),
        JOIN_CHANNEL => JoinChannel::parse(body).map(|(r, f)| (r, f.into())),
        CHANNEL_JOINED => ChannelJoined::parse(body).map(|(r, f)| (r, f.into())),
        REGISTER_ROUTE => RegisterRoute::parse(body).map(|(r, f)| (r, f.into())),
        ROUTE_CHALLENGE => RouteChallenge::parse(body).map(|(r, f)| (r, f.into())),
        ROUTE_PROOF => RouteProof::parse(body).map(|(r, f)| (r, f.into())),
        ROUTE_REGISTERED => Ok((body, EnvelopeFrame::RouteRegistered)),
        ATTACH_ROUTE => AttachRoute::parse(body).map(|(r, f)| (r, f.into())),
        ROUTE_ATTACHED => RouteAttached::parse(body).map(|(r, f)| (r, f.into())),
        LINK_OPENED => LinkOpened::parse(body).map(|(r, f)| (r, f.into())),
        PEER_STATE => PeerState::parse(body).map(|(r, f)| (r, f.into())),
        LINK_CLOSED => LinkClosed::parse(body).map(|(r, f)| (r, f.into())),
        DATA => Data::parse(src, body).map(|(r, f)| (r, f.into())),
        PING => Ping::parse(body).map(|(r, f)| (r, f.into())),
        PONG => Pong::parse(body).map(|(r, f)| (r, f.into())),
        ERROR => Error::parse(body).map(|(r, f)| (r, f.into())),
        // [ENC-10] Codes 0x80–0xFF are ignorable: a receiver that does not
        // know one MUST discard the frame and continue.
        FIRST_IGNORABLE..=u8::MAX => Ok((
            &body[body.len()..],
            EnvelopeFrame::Unknown {
                frame_type: ty,
                body: primitives::share(src, body),
            },
        )),
        // [ENC-09] A receiver that does not know a critical type MUST treat
        // the frame as `unknown_frame_type`.
        _ => Err(Fail::at(input, ErrorKind::UnknownFrameType, "type")),
    }
}

/// Implements `From<$frame> for EnvelopeFrame` for each frame struct.
macro_rules! into_frame {
    ($($name:ident),*) => {
        $(impl From<$name> for EnvelopeFrame {
            fn from(frame: $name) -> Self {
                EnvelopeFrame::$name(frame)
            }
        })*
    };
}

into_frame!(
    ChannelOpened,
    JoinChannel,
    ChannelJoined,
    RegisterRoute,
    RouteChallenge,
    RouteProof,
    AttachRoute,
    RouteAttached,
    LinkOpened,
    PeerState,
    LinkClosed,
    Data,
    Ping,
    Pong,
    Error
);
