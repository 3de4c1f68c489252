//! Reading lines with a bound (spec [CONF-06]: a line is UTF-8 of at most
//! 1,048,576 bytes ending with a line feed, a carriage return before it
//! ignored), both from async readers (the runner reading an adapter) and
//! from blocking ones (the reference codec adapter reading its requests).

use std::io::{self, BufRead};

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line, without its line feed ([CONF-06]).
pub const MAX_LINE: usize = 1_048_576;

/// One line read, or why it is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its line feed and carriage return.
    Text(String),
    /// A line longer than the bound; its bytes were skipped up to the next
    /// line feed.
    TooLong(usize),
    /// A line that is not UTF-8, as bytes.
    NotUtf8(Vec<u8>),
}

/// Turns the bytes of a line (line feed removed) into a [`Line`].
fn finish(mut bytes: Vec<u8>, total: usize, max: usize) -> Line {
    if total > max {
        return Line::TooLong(total);
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(text) => Line::Text(text),
        Err(e) => Line::NotUtf8(e.into_bytes()),
    }
}

/// Reads one line of at most `max` bytes; `None` at the end of the input
/// (a last line without a line feed counts as a line).
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok((total > 0).then(|| finish(bytes, total, max)));
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], Some(at + 1)),
            None => (buf, None),
        };
        total = total.saturating_add(chunk.len());
        if total <= max.saturating_add(1) {
            bytes.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buf.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(finish(bytes, total, max)));
        }
    }
}

/// As [`read_line`], from a blocking reader.
pub fn read_line_blocking<R: BufRead>(reader: &mut R, max: usize) -> io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((total > 0).then(|| finish(bytes, total, max)));
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], Some(at + 1)),
            None => (buf, None),
        };
        total = total.saturating_add(chunk.len());
        if total <= max.saturating_add(1) {
            bytes.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buf.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(finish(bytes, total, max)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_carriage_returns_dropped() {
        let mut input: &[u8] = b"ok\r\nabcdef\n\xff\nlast";
        let mut lines = Vec::new();
        while let Ok(Some(line)) = read_line_blocking(&mut input, 5) {
            lines.push(line);
        }
        assert_eq!(
            lines,
            [
                Line::Text("ok".into()),
                Line::TooLong(6),
                Line::NotUtf8(vec![0xff]),
                Line::Text("last".into())
            ]
        );
    }

    #[tokio::test]
    async fn async_reader_agrees() {
        let mut input = tokio::io::BufReader::with_capacity(2, &b"ab\ncdefgh\nxy"[..]);
        assert_eq!(
            read_line(&mut input, 4).await.ok().flatten(),
            Some(Line::Text("ab".into()))
        );
        assert_eq!(
            read_line(&mut input, 4).await.ok().flatten(),
            Some(Line::TooLong(6))
        );
        assert_eq!(
            read_line(&mut input, 4).await.ok().flatten(),
            Some(Line::Text("xy".into()))
        );
        assert_eq!(read_line(&mut input, 4).await.ok().flatten(), None);
    }
}
