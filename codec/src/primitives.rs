//! The encoding primitives of spec §1.4, as nom parsers over borrowed
//! slices and as writers into `BytesMut`. Every length is checked against
//! its maximum before anything is taken ([ENC-01]).

use bytes::{BufMut, Bytes, BytesMut};
use nom::IResult;

use crate::error::{DecodeError, EncodeError, ErrorKind, Layer};

/// A parse failure inside the codec: the kind, how many input bytes were
/// left where it happened (turned into an offset at the top) and the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) kind: ErrorKind,
    pub(crate) remaining: usize,
    pub(crate) field: &'static str,
}

impl Fail {
    pub(crate) fn at(input: &[u8], kind: ErrorKind, field: &'static str) -> nom::Err<Fail> {
        nom::Err::Error(Fail {
            kind,
            remaining: input.len(),
            field,
        })
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for Fail {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        // The only nom failures our parsers can meet are running out of
        // input inside a fixed-size read.
        Fail {
            kind: ErrorKind::Truncated,
            remaining: input.len(),
            field: "",
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of every parser in the codec.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, Fail>;

/// Runs a whole-frame parser over `input` and turns its outcome into the
/// public error type, rejecting trailing bytes ([ENC-03]).
#[inline]
pub(crate) fn run<'a, T>(
    input: &'a [u8],
    layer: Layer,
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> Result<T, DecodeError> {
    if input.is_empty() {
        return Err(DecodeError {
            kind: ErrorKind::Empty,
            offset: 0,
            field: "type",
            layer,
        });
    }
    let total = input.len();
    match parser(input) {
        Ok(([], value)) => Ok(value),
        Ok((rest, _)) => Err(DecodeError {
            kind: ErrorKind::TrailingBytes,
            offset: total - rest.len(),
            field: "end of frame",
            layer,
        }),
        Err(nom::Err::Error(fail) | nom::Err::Failure(fail)) => Err(DecodeError {
            kind: fail.kind,
            offset: total - fail.remaining,
            field: fail.field,
            layer,
        }),
        // Only `complete` parsers are used, which never ask for more input.
        Err(nom::Err::Incomplete(_)) => Err(DecodeError {
            kind: ErrorKind::Truncated,
            offset: total,
            field: "",
            layer,
        }),
    }
}

/// Names the field in a failure that does not name one yet.
pub(crate) fn named<'a, T>(name: &'static str, result: PResult<'a, T>) -> PResult<'a, T> {
    result.map_err(|err| {
        err.map(|mut fail| {
            if fail.field.is_empty() {
                fail.field = name;
            }
            fail
        })
    })
}

fn take_exact<'a>(input: &'a [u8], n: usize, name: &'static str) -> PResult<'a, &'a [u8]> {
    if input.len() < n {
        return Err(Fail::at(input, ErrorKind::Truncated, name));
    }
    let (taken, rest) = input.split_at(n);
    Ok((rest, taken))
}

/// `u8`.
pub(crate) fn u8<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u8> {
    move |input| named(name, nom::number::complete::be_u8(input))
}

/// `u16`, big-endian.
pub(crate) fn u16<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u16> {
    move |input| named(name, nom::number::complete::be_u16(input))
}

/// `u32`, big-endian.
pub(crate) fn u32<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u32> {
    move |input| named(name, nom::number::complete::be_u32(input))
}

/// `u64`, big-endian.
pub(crate) fn u64<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u64> {
    move |input| named(name, nom::number::complete::be_u64(input))
}

/// A `u32` or `u64` id that must not be 0 (link ids, chat ids, ...).
pub(crate) fn nonzero_u32<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u32> {
    move |input| {
        let (rest, value) = u32(name)(input)?;
        if value == 0 {
            return Err(Fail::at(input, ErrorKind::InvalidValue, name));
        }
        Ok((rest, value))
    }
}

/// A `u64` id that must not be 0.
pub(crate) fn nonzero_u64<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, u64> {
    move |input| {
        let (rest, value) = u64(name)(input)?;
        if value == 0 {
            return Err(Fail::at(input, ErrorKind::InvalidValue, name));
        }
        Ok((rest, value))
    }
}

/// `bool`: exactly `0x00` or `0x01` ([ENC-04]).
pub(crate) fn bool<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, bool> {
    move |input| {
        let (rest, byte) = u8(name)(input)?;
        match byte {
            0 => Ok((rest, false)),
            1 => Ok((rest, true)),
            // [ENC-04] A decoder MUST reject a `bool` byte other than `0x00`
            // or `0x01` as `invalid_bool`.
            _ => Err(Fail::at(input, ErrorKind::InvalidBool, name)),
        }
    }
}

/// `bytes[N]`.
pub(crate) fn array<'a, const N: usize>(
    name: &'static str,
) -> impl FnMut(&'a [u8]) -> PResult<'a, [u8; N]> {
    move |input| {
        let (rest, taken) = take_exact(input, N, name)?;
        let mut out = [0u8; N];
        out.copy_from_slice(taken);
        Ok((rest, out))
    }
}

fn utf8<'a>(start: &[u8], bytes: &'a [u8], name: &'static str) -> Result<&'a str, nom::Err<Fail>> {
    // [ENC-05] A decoder MUST reject a `str8` or `str16` whose bytes are not
    // well-formed UTF-8 as `invalid_utf8`.
    std::str::from_utf8(bytes).map_err(|_| Fail::at(start, ErrorKind::InvalidUtf8, name))
}

/// `str8<max>`: a `u8` length then that many bytes of UTF-8.
pub(crate) fn str8<'a>(
    max: usize,
    name: &'static str,
) -> impl FnMut(&'a [u8]) -> PResult<'a, &'a str> {
    move |input| {
        let (rest, len) = u8(name)(input)?;
        let len = usize::from(len);
        // [ENC-01] A decoder MUST check every length against the field's
        // maximum before it reads anything for that field.
        if len > max {
            return Err(Fail::at(input, ErrorKind::LengthExceedsLimit, name));
        }
        let (rest, bytes) = take_exact(rest, len, name)?;
        Ok((rest, utf8(input, bytes, name)?))
    }
}

/// `str16<max>`: a `u16` length then that many bytes of UTF-8.
pub(crate) fn str16<'a>(
    max: usize,
    name: &'static str,
) -> impl FnMut(&'a [u8]) -> PResult<'a, &'a str> {
    move |input| {
        let (rest, len) = u16(name)(input)?;
        let len = usize::from(len);
        if len > max {
            return Err(Fail::at(input, ErrorKind::LengthExceedsLimit, name));
        }
        let (rest, bytes) = take_exact(rest, len, name)?;
        Ok((rest, utf8(input, bytes, name)?))
    }
}

/// A `u16` length-prefixed byte string (a message `Body`'s content), checked
/// against `max` before it is taken.
pub(crate) fn blob16<'a>(
    max: usize,
    name: &'static str,
) -> impl FnMut(&'a [u8]) -> PResult<'a, &'a [u8]> {
    move |input| {
        let (rest, len) = u16(name)(input)?;
        let len = usize::from(len);
        if len > max {
            return Err(Fail::at(input, ErrorKind::LengthExceedsLimit, name));
        }
        take_exact(rest, len, name)
    }
}

/// `list16<T, max>`: a `u16` count then that many items. The count is
/// checked against `max`, and against what the remaining input can hold at
/// `min_item` bytes each, before anything is allocated ([ENC-07]).
pub(crate) fn list16<'a, T>(
    max: usize,
    min_item: usize,
    name: &'static str,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, Vec<T>> {
    move |input| {
        let (mut rest, count) = u16(name)(input)?;
        let count = usize::from(count);
        if count > max {
            return Err(Fail::at(input, ErrorKind::LengthExceedsLimit, name));
        }
        // [ENC-07] A decoder MUST NOT allocate memory for a `list16` in
        // proportion to its count before it has checked that the remaining
        // input can hold that many items at their minimum size.
        if count.saturating_mul(min_item) > rest.len() {
            return Err(Fail::at(rest, ErrorKind::Truncated, name));
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let (next, value) = item(rest)?;
            items.push(value);
            rest = next;
        }
        Ok((rest, items))
    }
}

/// `rest<max>`: every remaining byte, at least one and at most `max`.
pub(crate) fn rest<'a>(
    max: usize,
    name: &'static str,
) -> impl FnMut(&'a [u8]) -> PResult<'a, &'a [u8]> {
    move |input| {
        if input.is_empty() {
            return Err(Fail::at(input, ErrorKind::Truncated, name));
        }
        if input.len() > max {
            return Err(Fail::at(input, ErrorKind::LengthExceedsLimit, name));
        }
        Ok((&input[input.len()..], input))
    }
}

/// A zero-copy `Bytes` view of `part`, which must be a sub-slice of `src`.
pub(crate) fn share(src: &Bytes, part: &[u8]) -> Bytes {
    if part.is_empty() {
        return Bytes::new();
    }
    src.slice_ref(part)
}

/// Writes a `str8<max>`.
pub(crate) fn put_str8(
    buf: &mut BytesMut,
    value: &str,
    max: usize,
    name: &'static str,
) -> Result<(), EncodeError> {
    let len = check_len(value.len(), max.min(usize::from(u8::MAX)), name)?;
    buf.put_u8(len as u8);
    buf.put_slice(value.as_bytes());
    Ok(())
}

/// Writes a `str16<max>`.
pub(crate) fn put_str16(
    buf: &mut BytesMut,
    value: &str,
    max: usize,
    name: &'static str,
) -> Result<(), EncodeError> {
    put_blob16(buf, value.as_bytes(), max, name)
}

/// Writes a `u16` length-prefixed byte string.
pub(crate) fn put_blob16(
    buf: &mut BytesMut,
    value: &[u8],
    max: usize,
    name: &'static str,
) -> Result<(), EncodeError> {
    let len = check_len(value.len(), max.min(usize::from(u16::MAX)), name)?;
    buf.put_u16(len as u16);
    buf.put_slice(value);
    Ok(())
}

/// Writes a `list16` count, checking it against `max`.
pub(crate) fn put_count16(
    buf: &mut BytesMut,
    count: usize,
    max: usize,
    name: &'static str,
) -> Result<(), EncodeError> {
    let count = check_len(count, max.min(usize::from(u16::MAX)), name)?;
    buf.put_u16(count as u16);
    Ok(())
}

/// Writes a `rest<max>` field, which must hold 1 to `max` bytes.
pub(crate) fn put_rest(
    buf: &mut BytesMut,
    value: &[u8],
    max: usize,
    name: &'static str,
) -> Result<(), EncodeError> {
    if value.is_empty() {
        return Err(EncodeError::Empty { field: name });
    }
    check_len(value.len(), max, name)?;
    buf.put_slice(value);
    Ok(())
}

/// Checks that a nonzero id is not 0 before it is written.
pub(crate) fn check_nonzero(value: u64, name: &'static str) -> Result<(), EncodeError> {
    if value == 0 {
        return Err(EncodeError::InvalidValue { field: name });
    }
    Ok(())
}

fn check_len(len: usize, max: usize, name: &'static str) -> Result<usize, EncodeError> {
    if len > max {
        return Err(EncodeError::TooLong {
            field: name,
            len,
            max,
        });
    }
    Ok(len)
}
