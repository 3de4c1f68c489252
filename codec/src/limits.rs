//! Every size limit the codec enforces, named as in spec §10.4 and the
//! field types of §3, §4, §6 and §7.

/// Largest envelope frame: a `Data` frame with a full Noise message (§3.1).
pub const MAX_ENVELOPE_FRAME: usize = 1 + 4 + MAX_NOISE_MESSAGE;
/// Largest Noise message, and so the largest `Data` payload (§6.1).
pub const MAX_NOISE_MESSAGE: usize = 65_535;
/// Noise AES-GCM tag length.
pub const NOISE_TAG: usize = 16;
/// Largest inner session frame (§6.1).
pub const MAX_INNER_FRAME: usize = MAX_NOISE_MESSAGE - NOISE_TAG;
/// Largest media chunk (§8.1).
pub const MAX_CHUNK: usize = 61_440;
/// Largest `Error.message` and `Close.message` (§3.2, §6.2).
pub const MAX_ERROR_MESSAGE: usize = 128;
/// Largest device or account name (§4.2).
pub const MAX_NAME: usize = 64;
/// Largest relay URL in a QR payload (§4.1).
pub const MAX_RELAY_URL: usize = 128;
/// Largest chat title and contact name (§7.1).
pub const MAX_TITLE: usize = 128;
/// Largest message body content, and so the largest text (§7.1).
pub const MAX_BODY: usize = 4_096;
/// Largest MIME type (§7.1, §8.2).
pub const MAX_MIME: usize = 64;
/// Largest file name (§7.1, §8.2).
pub const MAX_FILE_NAME: usize = 255;
/// Largest media caption (§7.1).
pub const MAX_CAPTION: usize = 1_024;
/// Most chats in one `ChatPage` (§6.2).
pub const MAX_CHATS_PER_PAGE: usize = 500;
/// Most contacts in one `ContactPage` (§6.2).
pub const MAX_CONTACTS_PER_PAGE: usize = 500;
/// Most messages in one `MessagePage`, and the largest history `limit` (§7.7).
pub const MAX_MESSAGES_PER_PAGE: usize = 100;
/// Longest QR text: `TANDEM:` and the base32 of a 213-byte payload (§4.1).
pub const MAX_QR_TEXT: usize = 7 + 341;
