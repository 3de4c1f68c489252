//! The catalogue of named faults the runner's own endpoint and relay
//! commit on purpose against a companion or a primary under test (spec
//! §12.1), each tied to the section and requirement that say how the
//! implementation must react. Cases list the faults they commit;
//! `tandem-conformance faults` prints the catalogue.

use crate::relay::faults::{Fault, fault_catalogue};

fault_catalogue! {
    WRONG_PSK = "wrong-psk", "§4.6", "PAIR-11", "runs the pairing handshake with a pairing secret other than the QR code's";
    WRONG_PROLOGUE = "wrong-prologue", "§4.2", "PAIR-02", "runs a handshake with a prologue for another channel or key";
    WRONG_STATIC_KEY = "wrong-static-key", "§4.6", "PAIR-11", "runs the pairing handshake to a companion key other than the QR code's";
    TAMPERED_HANDSHAKE = "tampered-handshake", "§4.6", "PAIR-11", "flips one bit of a handshake message";
    BAD_HANDSHAKE_PAYLOAD = "bad-handshake-payload", "§4.2", "PAIR-11", "sends a handshake payload that does not decode";
    NO_PAIRING_COMPLETE = "no-pairing-complete", "§4.5", "PAIR-09", "sends another frame where PairingComplete or Close must come";
    DECLINED = "declined", "§4.5", "PAIR-11", "ends the pairing session with Close(pairing_rejected)";
    REPLAYED_HANDSHAKE = "replayed-handshake", "§5.2", "RECON-06", "replays an earlier reconnect message 1";
    FOREIGN_PRIMARY_KEY = "foreign-primary-key", "§5.1", "RECON-03", "answers a reconnect with a static key other than the pinned one";
    UNKNOWN_COMPANION = "unknown-companion", "§5.2", "RECON-05", "reconnects with a key the primary never linked";
    FORGED_LOGOUT = "forged-logout", "§5.2", "RECON-07", "sends an unauthenticated relay Error or LinkClosed that looks like a logout";
    TAMPERED_FRAME = "tampered-frame", "§6.6", "SESS-09", "flips one bit of a transport message";
    REPLAYED_FRAME = "replayed-frame", "§6.6", "SESS-09", "sends a transport message a second time";
    REORDERED_FRAMES = "reordered-frames", "§6.6", "SESS-09", "sends two transport messages in the wrong order";
    SHORT_PAYLOAD = "short-payload", "§6.1", "SESS-02", "sends a Data payload shorter than 17 bytes";
    MALFORMED_INNER_FRAME = "malformed-inner-frame", "§6.6", "SESS-10", "encrypts an inner frame that does not decode";
    UNKNOWN_CRITICAL_FRAME = "unknown-critical-frame", "§6.2", "ENC-09", "encrypts an inner frame of an unknown type below 0x80";
    UNKNOWN_IGNORABLE_FRAME = "unknown-ignorable-frame", "§6.2", "ENC-10", "encrypts an inner frame of an unknown type of 0x80 or above";
    WRONG_ROLE_FRAME = "wrong-role-frame", "§6.2", "SESS-03", "sends a frame that only the other role may send";
    FRAME_BEFORE_RESUME = "frame-before-resume", "§6.3", "SESS-04", "sends a sync frame before Resume or its answer";
    EARLY_REKEY = "rekey", "§6.5", "SESS-08", "switches its sending key with Rekey in the middle of a session";
    EVENT_GAP = "event-gap", "§7.4", "SYNC-12", "skips a seq in its events";
    REPEATED_EVENT = "repeated-event", "§7.4", "SYNC-12", "sends an event seq a second time";
    UNKNOWN_EVENT_KIND = "unknown-event-kind", "§7.4", "SYNC-09", "sends an event of a kind this version does not define";
    UNKNOWN_BODY_KIND = "unknown-body-kind", "§7.1", "SYNC-02", "sends a message whose body kind this version does not define";
    FORCED_RESYNC = "forced-resync", "§7.3", "SYNC-05", "sends a snapshot in the middle of a live session";
    LOST_SEND_ACK = "lost-send-ack", "§7.6", "SYNC-19", "loses the connection before the SendAck of a send";
    REFUSED_SEND = "refused-send", "§7.6", "SYNC-20", "refuses a send with SendFailed";
    DUPLICATE_SEND = "duplicate-send", "§7.6", "SYNC-18", "sends the same Send (same client id) again";
    ACK_AHEAD = "ack-ahead", "§7.5", "SYNC-15", "acknowledges a seq that was never sent";
    ACK_BACKWARDS = "ack-backwards", "§7.5", "SYNC-15", "acknowledges a seq lower than its previous Ack";
    NEVER_ACKS = "never-acks", "§7.4", "SYNC-13", "never acknowledges events";
    UNKNOWN_CHAT = "unknown-chat", "§7.6", "SYNC-23", "names a chat that does not exist";
    BAD_HISTORY_LIMIT = "bad-history-limit", "§7.7", "SYNC-23", "asks for a history page of 0 or more than 100 messages";
    STALE_RESUME = "stale-resume", "§7.2", "SYNC-04", "resumes from an unknown log id or a seq above the head";
    CUT_CONNECTION = "cut-connection", "§7.9", "SYNC-19", "drops the implementation's relay connection without a Close frame";
    MEDIA_HASH_MISMATCH = "media-hash-mismatch", "§8.3", "MEDIA-08", "serves media bytes whose SHA-256 is not the media id";
    CREDIT_OVERRUN = "credit-overrun", "§8.4", "MEDIA-10", "sends more chunks than the receiver granted credit for";
    BAD_CHUNK_OFFSET = "bad-chunk-offset", "§8.1", "MEDIA-02", "sends a chunk at an offset other than the next expected one";
    OVERSIZED_CHUNK = "oversized-chunk", "§8.1", "MEDIA-01", "sends a chunk longer than 61,440 bytes";
    REVOKED = "revoked", "§9.3", "DEV-07", "revokes the companion with an authenticated Close(device_revoked)";
    OVER_DEVICE_LIMIT = "over-device-limit", "§9.1", "PAIR-10", "pairs one companion more than MAX_COMPANIONS";
    MALFORMED_QR = "malformed-qr", "§4.1", "QR-02", "shows a QR text that breaks a rule of §4.1 (prefix, base32, version, flags, relay URL)";
    PLAIN_REMOTE_RELAY = "plain-remote-relay", "§2.5", "TRN-08", "shows a QR code naming a plain ws:// relay that is not on loopback";
    SILENT_COMPANION = "silent-companion", "§4.6", "PAIR-11", "never answers the pairing handshake's message 1";
    UNKNOWN_CAPABILITIES = "unknown-capabilities", "§4.4", "ENC-11", "sets capability bits that version 1 does not define";
    UNKNOWN_CODE = "unknown-code", "§1.6", "ERR-01", "closes a link, session or connection with a code this version does not define";
    UNKNOWN_CHANNEL_CODE = "unknown-channel-code", "§4.6", "CONF-09", "shows a QR code for a channel that does not exist";
    TAKEN_CHANNEL = "taken-channel", "§4.6", "SEC-01", "lets another primary join the channel before the implementation does";
    WRONG_SUBPROTOCOL = "wrong-subprotocol", "§2.2", "TRN-01", "the relay selects a subprotocol the client did not offer, or none";
    TEXT_MESSAGE = "text-message", "§2.3", "TRN-03", "the relay sends a text WebSocket message";
    OVERSIZED_MESSAGE = "oversized-message", "§2.3", "TRN-04", "the relay sends a binary message longer than 65,540 bytes";
    MALFORMED_ENVELOPE = "malformed-envelope", "§3.7", "ENV-06", "the relay sends a binary message that does not decode as an envelope frame";
    UNKNOWN_ENVELOPE_TYPE = "unknown-envelope-type", "§1.6", "ENC-09", "the relay sends an envelope frame of a type this version does not define";
    UNSOLICITED_CHALLENGE = "unsolicited-challenge", "§3.4", "ENV-01", "the relay sends a RouteChallenge the primary did not ask for";
    MISLEADING_ERROR_MESSAGE = "misleading-error-message", "§3.7", "ENV-05", "the relay's Error carries a message that names another code";
    MISLEADING_CLOSE_REASON = "misleading-close-reason", "§2.4", "TRN-07", "the relay closes the connection with a reason that names another code";
    WRONG_SUITE = "wrong-suite", "§5.1", "RECON-01", "runs the reconnect handshake with a Noise suite other than Noise_IK_25519_AESGCM_SHA256";
    WRONG_PRIMARY_KEY = "wrong-primary-key", "§5.3", "RECON-01", "sends reconnect message 1 encrypted to a primary key other than the implementation's";
    CLOSED_SESSION = "closed-session", "§6.4", "SESS-06", "ends a session with Close but keeps the link attached";
    EXCESS_CREDIT = "excess-credit", "§8.4", "MEDIA-10", "grants download credit that lets more than MAX_CREDIT chunks be outstanding";
    CHUNK_PAST_END = "chunk-past-end", "§8.1", "MEDIA-01", "sends a chunk that runs past the end of its transfer";
    UNKNOWN_TRANSFER = "unknown-transfer", "§8.1", "MEDIA-02", "sends a chunk for a transfer id that is not active";
    BAD_MEDIA_SIZE = "bad-media-size", "§8.2", "MEDIA-03", "starts an upload of size 0 or above MAX_MEDIA_SIZE";
    UPLOAD_HASH_MISMATCH = "upload-hash-mismatch", "§8.2", "MEDIA-06", "uploads bytes whose SHA-256 is not the media id it announced";
    INTERRUPTED_UPLOAD = "interrupted-upload", "§8.2", "MEDIA-04", "ends the session in the middle of an upload and starts it again";
    UNKNOWN_MEDIA = "unknown-media", "§8.3", "MEDIA-07", "names a media id the primary does not hold, in a download or a media message";
    BAD_DOWNLOAD_RANGE = "bad-download-range", "§8.3", "MEDIA-07", "asks for a download range outside the file";
    TOO_MANY_TRANSFERS = "too-many-transfers", "§8.5", "MEDIA-12", "starts a transfer beyond MAX_TRANSFERS active ones";
    TRANSFER_ID_IN_USE = "transfer-id-in-use", "§8.5", "MEDIA-12", "starts a transfer with the id of an active one";
    HANDSHAKE_ONLY = "handshake-only", "§9.2", "DEV-02", "reconnects and ends the session without sending a transport frame";
    LOW_ORDER_EPHEMERAL = "low-order-ephemeral", "§11.10", "SEC-13", "sends a handshake message whose ephemeral key is a low-order point (all zeros)";
}

/// The fault with this name.
pub fn fault(name: &str) -> Option<&'static Fault> {
    CATALOGUE.iter().find(|f| f.name == name)
}
