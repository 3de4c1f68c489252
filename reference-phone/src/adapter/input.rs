//! The adapter's standard input (spec §12.5.2, [CONF-06]): one request per
//! line, at most 1,048,576 bytes, read on a thread of its own so that a
//! blocked read never holds the process up when it exits.

use std::io::{BufRead, ErrorKind};

use tokio::sync::mpsc;

/// The longest line either way, in bytes, without its line feed.
pub(crate) const MAX_LINE: usize = 1_048_576;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A line, without its line feed and the carriage return before it.
    Line(String),
    /// A line longer than [`MAX_LINE`], skipped.
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads standard input on a thread; the channel closes at its end (the
/// runner is gone) or when the receiver is dropped.
pub(crate) fn spawn_stdin() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name("adapter-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut reader = stdin.lock();
            loop {
                match read_line(&mut reader, MAX_LINE) {
                    Ok(Some(input)) => {
                        if tx.blocking_send(input).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(err) => {
                        tracing::warn!(%err, "standard input failed");
                        return;
                    }
                }
            }
        });
    if let Err(err) = spawned {
        // The receiver sees a closed channel: the adapter stops.
        tracing::error!(%err, "cannot start the standard input reader");
    }
    rx
}

/// Reads one line of at most `max` bytes; `None` at the end of input. A
/// longer line is consumed to its end and reported as [`Input::TooLong`];
/// a last line without a line feed still counts.
pub(crate) fn read_line(reader: &mut impl BufRead, max: usize) -> std::io::Result<Option<Input>> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buf.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (part, used, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], at + 1, true),
            None => (buf, buf.len(), false),
        };
        if !too_long {
            if line.len() + part.len() > max + 1 {
                // One byte of slack for a carriage return before the line feed.
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(part);
            }
        }
        reader.consume(used);
        if end {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if too_long || line.len() > max {
        return Ok(Some(Input::TooLong));
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(text) => Input::Line(text),
        Err(_) => Input::NotUtf8,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8], max: usize) -> Vec<Input> {
        let mut reader = std::io::BufReader::with_capacity(4, bytes);
        let mut out = Vec::new();
        while let Some(input) = read_line(&mut reader, max).unwrap() {
            out.push(input);
        }
        out
    }

    #[test]
    fn lines_end_at_line_feeds_and_lose_a_carriage_return() {
        assert_eq!(
            lines(b"status\r\nsend 1 a b\n\nlast", 64),
            [
                Input::Line("status".into()),
                Input::Line("send 1 a b".into()),
                Input::Line(String::new()),
                Input::Line("last".into()),
            ]
        );
    }

    #[test]
    fn a_line_over_the_bound_is_skipped_whole() {
        assert_eq!(
            lines(b"0123456789\nok\n0123\r\n", 8),
            [
                Input::TooLong,
                Input::Line("ok".into()),
                Input::Line("0123".into())
            ]
        );
        assert_eq!(lines(b"12345678\n123456789\n", 8)[1], Input::TooLong);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_reported() {
        assert_eq!(lines(b"\xff\xfe\nok\n", 8)[0], Input::NotUtf8);
    }
}
