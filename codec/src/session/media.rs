//! Media frames (spec §8): uploads (`UploadBegin`, `UploadReady`,
//! `UploadDone`), downloads (`DownloadRequest`, `DownloadReady`), the
//! `Chunk`s both carry, credit-based flow control and cancellation.

use bytes::{BufMut, Bytes, BytesMut};

use crate::code::Code;
use crate::error::EncodeError;
use crate::limits::{MAX_CHUNK, MAX_FILE_NAME, MAX_MIME};
use crate::primitives::{PResult, array, put_rest, put_str8, rest, share, str8, u16, u32, u64};

/// Companion → primary: upload a file (spec §8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UploadBegin {
    /// Chosen by the companion; any value, unique among its active
    /// transfers.
    pub transfer_id: u32,
    /// SHA-256 of the whole file.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub media_id: [u8; 32],
    /// The file's length in bytes. Any value decodes: 0 and sizes above
    /// `MAX_MEDIA_SIZE` are request errors ([MEDIA-03]).
    pub size: u64,
    /// MIME type; at most 64 bytes.
    pub mime: String,
    /// File name; at most 255 bytes.
    pub name: String,
}

impl UploadBegin {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, media_id) = array::<32>("media_id")(input)?;
        let (input, size) = u64("size")(input)?;
        let (input, mime) = str8(MAX_MIME, "mime")(input)?;
        let (input, name) = str8(MAX_FILE_NAME, "name")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                media_id,
                size,
                mime: mime.to_owned(),
                name: name.to_owned(),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_slice(&self.media_id);
        buf.put_u64(self.size);
        put_str8(buf, &self.mime, MAX_MIME, "mime")?;
        put_str8(buf, &self.name, MAX_FILE_NAME, "name")
    }
}

/// Primary → companion: continue the upload from `offset`, with initial
/// credit ([MEDIA-04]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UploadReady {
    /// The upload.
    pub transfer_id: u32,
    /// Bytes of this media id the primary already holds durably.
    pub offset: u64,
    /// Chunks the companion may send now (above `MAX_CREDIT` is a session
    /// error, [MEDIA-10], not a malformed frame).
    pub credit: u16,
}

impl UploadReady {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, offset) = u64("offset")(input)?;
        let (input, credit) = u16("credit")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                offset,
                credit,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_u64(self.offset);
        buf.put_u16(self.credit);
        Ok(())
    }
}

/// Either side: file bytes at `offset` (spec §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Chunk {
    /// The transfer.
    pub transfer_id: u32,
    /// Where `data` starts in the file.
    pub offset: u64,
    /// 1 to 61,440 bytes; a zero-copy slice of the decoded input.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub data: Bytes,
}

impl Chunk {
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, offset) = u64("offset")(input)?;
        let (input, data) = rest(MAX_CHUNK, "data")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                offset,
                data: share(src, data),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_u64(self.offset);
        put_rest(buf, &self.data, MAX_CHUNK, "data")
    }
}

/// Either side: `chunks` more chunks may be sent (spec §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Credit {
    /// The transfer.
    pub transfer_id: u32,
    /// Chunks added to the credit.
    pub chunks: u16,
}

impl Credit {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, chunks) = u16("chunks")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                chunks,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_u16(self.chunks);
        Ok(())
    }
}

/// Primary → companion: the upload is complete and its hash matched
/// ([MEDIA-06]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UploadDone {
    /// The upload.
    pub transfer_id: u32,
    /// The stored file's media id.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub media_id: [u8; 32],
}

impl UploadDone {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, media_id) = array::<32>("media_id")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                media_id,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_slice(&self.media_id);
        Ok(())
    }
}

/// Companion → primary: download a range of a file (spec §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DownloadRequest {
    /// Chosen by the companion.
    pub transfer_id: u32,
    /// The file.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub media_id: [u8; 32],
    /// First byte wanted.
    pub offset: u64,
    /// Bytes wanted, or 0 for everything from `offset` to the end.
    pub length: u64,
    /// Initial credit, in chunks.
    pub credit: u16,
}

impl DownloadRequest {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, media_id) = array::<32>("media_id")(input)?;
        let (input, offset) = u64("offset")(input)?;
        let (input, length) = u64("length")(input)?;
        let (input, credit) = u16("credit")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                media_id,
                offset,
                length,
                credit,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_slice(&self.media_id);
        buf.put_u64(self.offset);
        buf.put_u64(self.length);
        buf.put_u16(self.credit);
        Ok(())
    }
}

/// Primary → companion: the file's size and the exact range that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DownloadReady {
    /// The download.
    pub transfer_id: u32,
    /// The whole file's length.
    pub size: u64,
    /// First byte that follows.
    pub offset: u64,
    /// Bytes that follow; the transfer ends when they have arrived.
    pub length: u64,
}

impl DownloadReady {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, size) = u64("size")(input)?;
        let (input, offset) = u64("offset")(input)?;
        let (input, length) = u64("length")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                size,
                offset,
                length,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_u64(self.size);
        buf.put_u64(self.offset);
        buf.put_u64(self.length);
        Ok(())
    }
}

/// Either side ends a transfer; the other stops at once (spec §8.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransferCancel {
    /// The transfer.
    pub transfer_id: u32,
    /// Why (spec §10.2).
    pub code: Code,
}

impl TransferCancel {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, transfer_id) = u32("transfer_id")(input)?;
        let (input, code) = u16("code")(input)?;
        Ok((
            input,
            Self {
                transfer_id,
                code: Code(code),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u32(self.transfer_id);
        buf.put_u16(self.code.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{decode, fail, round_trip};
    use super::super::{InnerFrame, frame_type};
    use super::*;
    use crate::error::ErrorKind;

    const MEDIA: [u8; 32] = [0x5A; 32];

    #[test]
    fn upload_begin_layout_and_limits() {
        let begin = UploadBegin {
            transfer_id: 0,
            media_id: MEDIA,
            size: 0,
            mime: "image/png".into(),
            name: "ü.png".into(),
        };
        let wire = round_trip(begin.clone(), frame_type::UPLOAD_BEGIN);
        // type, transfer_id, media_id, size, then mime's length at 45.
        assert_eq!(wire[45], 9);
        let mut long_mime = wire[..45].to_vec();
        long_mime.push(65);
        assert_eq!(
            fail(&long_mime),
            (ErrorKind::LengthExceedsLimit, 45, "mime")
        );
        let name_at = 46 + 9;
        let mut bad_name = wire.to_vec();
        bad_name[name_at + 1] = 0xC3;
        bad_name[name_at + 2] = 0x28;
        assert_eq!(fail(&bad_name), (ErrorKind::InvalidUtf8, name_at, "name"));

        let mut max = begin.clone();
        max.mime = "m".repeat(MAX_MIME);
        max.name = "n".repeat(MAX_FILE_NAME);
        round_trip(max, frame_type::UPLOAD_BEGIN);
        let mut over = begin;
        over.name = "n".repeat(MAX_FILE_NAME + 1);
        assert!(matches!(
            InnerFrame::from(over).to_bytes(),
            Err(EncodeError::TooLong { field: "name", .. })
        ));
    }

    #[test]
    fn upload_ready_credit_done() {
        let wire = round_trip(
            UploadReady {
                transfer_id: 1,
                offset: 61_440,
                credit: 64,
            },
            frame_type::UPLOAD_READY,
        );
        assert_eq!(wire.len(), 1 + 4 + 8 + 2);
        let wire = round_trip(
            Credit {
                transfer_id: 0xFFFF_FFFF,
                chunks: 3,
            },
            frame_type::CREDIT,
        );
        assert_eq!(wire.as_ref(), [0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0, 3]);
        let wire = round_trip(
            UploadDone {
                transfer_id: 1,
                media_id: MEDIA,
            },
            frame_type::UPLOAD_DONE,
        );
        assert_eq!(wire.len(), 37);
        assert_eq!(fail(&wire[..36]), (ErrorKind::Truncated, 5, "media_id"));
    }

    #[test]
    fn chunk_layout_and_zero_copy() {
        let wire = round_trip(
            Chunk {
                transfer_id: 2,
                offset: 0x0100,
                data: Bytes::from_static(b"abc"),
            },
            frame_type::CHUNK,
        );
        assert_eq!(
            wire.as_ref(),
            [0x32, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, b'a', b'b', b'c']
        );
        let InnerFrame::Chunk(chunk) = InnerFrame::decode(&wire).unwrap() else {
            panic!("not a chunk");
        };
        assert_eq!(chunk.data.as_ptr(), wire[13..].as_ptr());
    }

    #[test]
    fn chunk_data_is_bounded() {
        // No data at all.
        assert_eq!(
            fail(&[0x32, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]),
            (ErrorKind::Truncated, 13, "data")
        );
        // One byte above MAX_CHUNK (the frame itself is under the limit).
        let mut wire = vec![0x32, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
        wire.resize(13 + MAX_CHUNK + 1, 0xAA);
        assert_eq!(fail(&wire), (ErrorKind::LengthExceedsLimit, 13, "data"));
        let over = Chunk {
            transfer_id: 2,
            offset: 0,
            data: Bytes::from(vec![0; MAX_CHUNK + 1]),
        };
        assert!(matches!(
            InnerFrame::from(over).to_bytes(),
            Err(EncodeError::TooLong { field: "data", .. })
        ));
        let empty = Chunk {
            transfer_id: 2,
            offset: 0,
            data: Bytes::new(),
        };
        assert_eq!(
            InnerFrame::from(empty).to_bytes(),
            Err(EncodeError::Empty { field: "data" })
        );
    }

    #[test]
    fn download_request_ready_cancel() {
        let wire = round_trip(
            DownloadRequest {
                transfer_id: 9,
                media_id: MEDIA,
                offset: 10,
                length: 0,
                credit: 16,
            },
            frame_type::DOWNLOAD_REQUEST,
        );
        assert_eq!(wire.len(), 1 + 4 + 32 + 8 + 8 + 2);
        let wire = round_trip(
            DownloadReady {
                transfer_id: 9,
                size: 100,
                offset: 10,
                length: 90,
            },
            frame_type::DOWNLOAD_READY,
        );
        assert_eq!(wire.len(), 1 + 4 + 8 + 8 + 8);
        let wire = round_trip(
            TransferCancel {
                transfer_id: 9,
                code: Code::MEDIA_HASH_MISMATCH,
            },
            frame_type::TRANSFER_CANCEL,
        );
        assert_eq!(wire.as_ref(), [0x37, 0, 0, 0, 9, 0x10, 0xCC]);
        assert_eq!(
            fail(&[0x37, 0, 0, 0, 9, 0x10]),
            (ErrorKind::Truncated, 5, "code")
        );
        assert_eq!(
            fail(&[0x37, 0, 0, 0, 9, 0x10, 0xCC, 0]),
            (ErrorKind::TrailingBytes, 7, "end of frame")
        );
        assert!(decode(&[0x37, 0, 0, 0, 0, 0xFF, 0xFF]).is_ok());
    }
}
