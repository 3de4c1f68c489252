//! The adapter's lines (spec §12.5.2, [CONF-06]): requests read from
//! standard input with a bound of 1,048,576 bytes, a carriage return before
//! the line feed ignored; responses and events written one flushed line each.

use std::io::{BufRead, Write};

use tokio::sync::mpsc;

/// The longest line, in bytes without its line feed ([CONF-06]).
pub(crate) const MAX_LINE: usize = 1 << 20;

/// One line read from the runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A line of text, without its line ending.
    Line(String),
    /// A line longer than [`MAX_LINE`]; its bytes were skipped, not kept.
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads `input` line by line on a thread of its own; the channel closes
/// at the end of the input (the runner is gone) or on a read error.
///
/// A plain thread, not tokio's: a blocking read of stdin cannot be
/// cancelled, and the runtime would wait for it at exit ([CONF-10]).
pub(crate) fn spawn_reader<R>(input: R) -> mpsc::Receiver<Incoming>
where
    R: BufRead + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    let spawned = std::thread::Builder::new()
        .name("adapter-stdin".into())
        .spawn(move || {
            let mut input = input;
            loop {
                match read_line(&mut input, MAX_LINE) {
                    Ok(Some(line)) => {
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(err) => {
                        tracing::warn!(%err, "cannot read standard input; stopping");
                        return;
                    }
                }
            }
        });
    if let Err(err) = spawned {
        // The sender is gone with the closure: the input reads as closed.
        tracing::error!(%err, "cannot start the thread that reads standard input");
    }
    rx
}

/// Reads one line of at most `max` bytes; `None` at the end of the input.
/// A longer line is consumed up to its line feed without being stored.
pub(crate) fn read_line<R: BufRead>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<Incoming>> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buffer.is_empty() {
            if !any {
                return Ok(None);
            }
            // A last line without a line feed still counts.
            break;
        }
        any = true;
        let (piece, used, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..at], at + 1, true),
            None => (buffer, buffer.len(), false),
        };
        if !too_long {
            if line.len() + piece.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(piece);
            }
        }
        reader.consume(used);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Incoming::TooLong));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(text) => Incoming::Line(text),
        Err(_) => Incoming::NotUtf8,
    }))
}

/// Standard output, where only responses and events go ([CONF-06]).
pub(crate) struct Output {
    out: Box<dyn Write + Send>,
}

impl Output {
    /// The process's standard output.
    pub(crate) fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    /// Lines into `out`.
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        Self { out }
    }

    /// Writes `text` as one line and flushes it. A line break inside
    /// `text` would break the protocol, so none is written.
    pub(crate) fn line(&mut self, text: &str) -> std::io::Result<()> {
        let text = one_line(text);
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// `text` with line breaks turned into spaces.
pub(crate) fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> Vec<Incoming> {
        // A small buffer, so that lines span several reads.
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut reader, max).unwrap() {
            lines.push(line);
        }
        lines
    }

    #[test]
    fn lines_are_split_bounded_and_checked() {
        let lines = all(b"status\r\nsend 1 hi\n\n0123456789abc\nok\xff\nlast", 10);
        assert_eq!(
            lines,
            vec![
                Incoming::Line("status".into()),
                Incoming::Line("send 1 hi".into()),
                Incoming::Line(String::new()),
                Incoming::TooLong,
                Incoming::NotUtf8,
                Incoming::Line("last".into()),
            ]
        );
        assert_eq!(all(&[b'x'; 16], 16), vec![Incoming::Line("x".repeat(16))]);
        assert!(all(b"", 16).is_empty());
    }

    #[test]
    fn output_lines_never_break() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
        assert_eq!(one_line("plain"), "plain");
    }
}
