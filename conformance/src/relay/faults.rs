//! The catalogue of named faults the runner's own peers commit on purpose
//! against a relay (spec §12.1: "it misbehaves on purpose where a case
//! needs it"), each tied to the spec section and requirement that says how
//! the relay must react. Cases list the faults they commit; the report
//! shows them, and `tandem-conformance faults` prints the catalogue.

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Its name, as cases and reports write it.
    pub name: &'static str,
    /// The section that defines the relay's answer.
    pub section: &'static str,
    /// The requirement that the answer satisfies.
    pub requirement: &'static str,
    /// What the peer does.
    pub description: &'static str,
}

/// Declares a catalogue: one constant per fault and `CATALOGUE`.
macro_rules! fault_catalogue {
    ($($id:ident = $name:literal, $section:literal, $req:literal, $desc:literal;)*) => {
        $(
            #[doc = $desc]
            pub const $id: &str = $name;
        )*
        /// Every fault.
        pub const CATALOGUE: &[Fault] = &[$(Fault { name: $name, section: $section, requirement: $req, description: $desc }),*];
    };
}
pub(crate) use fault_catalogue;

fault_catalogue! {
    NO_SUBPROTOCOL = "no-subprotocol", "§2.2", "TRN-02", "opens the WebSocket without offering a subprotocol";
    UNKNOWN_SUBPROTOCOL = "unknown-subprotocol", "§2.2", "TRN-02", "offers only a protocol version the relay does not support";
    DEFLATE_OFFER = "deflate-offer", "§2.6", "TRN-11", "offers the permessage-deflate extension";
    SPOOFED_FORWARDED = "spoofed-forwarded", "§2.5", "TRN-10", "sends its own Forwarded and X-Forwarded-For headers to pose as other addresses";
    TEXT_MESSAGE = "text-message", "§2.3", "TRN-03", "sends a text WebSocket message";
    OVERSIZED_MESSAGE = "oversized-message", "§2.3", "TRN-04", "sends a binary message of 65,541 bytes";
    OVERSIZED_FRAGMENTS = "oversized-fragments", "§2.3", "TRN-04", "sends a message of 70,000 bytes in two fragments";
    UNMASKED_FRAME = "unmasked-frame", "§2.3", "TRN-04", "sends a client frame without a mask";
    LONG_CONTROL_FRAME = "long-control-frame", "§2.3", "TRN-04", "sends a WebSocket Ping with 126 bytes of payload";
    RESERVED_BIT = "reserved-bit", "§2.3", "TRN-04", "sets RSV1 without a negotiated extension";
    UNKNOWN_OPCODE = "unknown-opcode", "§2.3", "TRN-04", "sends a frame with the reserved opcode 0x3";
    MALFORMED_FRAME = "malformed-frame", "§3.7", "RLY-20", "sends an envelope frame that does not decode (an invalid vector of §13)";
    RELAY_ONLY_FRAME = "relay-only-frame", "§3.7", "RLY-21", "sends a frame that only the relay may send";
    COMPANION_JOINS = "companion-joins", "§3.7", "RLY-21", "sends JoinChannel on a companion's connection";
    PROOF_WITHOUT_CHALLENGE = "proof-without-challenge", "§3.7", "RLY-21", "sends RouteProof without a RouteChallenge to answer";
    ROLE_MIX = "role-mix", "§3.4", "RLY-10", "holds a route and also attaches or opens a channel, or registers twice";
    WRONG_ROUTE_PROOF = "wrong-route-proof", "§3.4", "RLY-08", "answers a RouteChallenge with a random MAC";
    FOREIGN_KEY_PROOF = "foreign-key-proof", "§3.4", "RLY-08", "registers a primary key and proves with another key";
    LOW_ORDER_KEY = "low-order-key", "§3.4", "RLY-08", "registers a low-order X25519 point and a MAC keyed with the all-zero secret";
    REPLAYED_ROUTE_PROOF = "replayed-route-proof", "§3.4", "RLY-08", "answers a challenge with the proof of an earlier one";
    SECOND_JOIN = "second-join", "§3.3", "RLY-02", "joins a pairing channel that another primary joined";
    UNKNOWN_CHANNEL_JOIN = "unknown-channel-join", "§3.3", "RLY-03", "joins a channel that does not exist, expired or was closed";
    FOREIGN_LINK = "foreign-link", "§3.5", "RLY-15", "sends Data or LinkClosed on a link id it does not own";
    CHANNEL_FLOOD = "channel-flood", "§3.3", "RLY-06", "opens pairing channels beyond the limits";
    ATTACH_FLOOD = "attach-flood", "§3.5", "RLY-12", "attaches to one route beyond MAX_LINKS_PER_ROUTE";
    CONNECTION_FLOOD = "connection-flood", "§3.9", "RLY-24", "opens connections beyond MAX_CONNECTIONS";
    SILENT_CONNECTION = "silent-connection", "§3.9", "RLY-22", "completes the upgrade and never sends a frame";
    STALLED_UPGRADE = "stalled-upgrade", "§3.9", "RLY-22", "sends half an HTTP request, or nothing, and waits";
    IDLE = "idle", "§3.6", "RLY-19", "stops sending and receiving";
    WEBSOCKET_PINGS_ONLY = "websocket-pings-only", "§2.3", "RLY-19", "keeps sending WebSocket Pings, which are not Tandem keepalive";
    NEVER_READS = "never-reads", "§3.9", "RLY-23", "stops reading its socket while traffic is due to it";
    ABRUPT_DISCONNECT = "abrupt-disconnect", "§3.5", "RLY-17", "drops its TCP connection without a Close frame";
    UNSOLICITED_PONG = "unsolicited-pong", "§3.6", "ENV-02", "sends a Pong that answers no Ping";
}

/// The fault with this name.
pub fn fault(name: &str) -> Option<&'static Fault> {
    CATALOGUE.iter().find(|f| f.name == name)
}
