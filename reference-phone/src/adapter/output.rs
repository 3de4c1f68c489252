//! The adapter's standard output (spec §12.5.2, [CONF-06]): nothing but
//! responses (`ok`, `ok <result>`, `err <code> <message>`) and `event`
//! lines, each one line of at most 1,048,576 bytes, flushed as written.

use std::io::Write;

use serde_json::Value;
use tandem_codec::Code;

use super::input::MAX_LINE;

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Response {
    /// `ok`, or `ok <result>`.
    Ok(Option<String>),
    /// `err <code> <message>`.
    Err {
        /// One word: a code name of §10.2, an error kind of §1.4, or one
        /// of `not_implemented`, `bad_request`, `invalid_state`, `failed`.
        code: String,
        /// For people.
        message: String,
    },
}

impl Response {
    /// `ok`.
    pub(crate) fn ok() -> Self {
        Self::Ok(None)
    }

    /// `ok <result>`.
    pub(crate) fn ok_with(result: impl Into<String>) -> Self {
        Self::Ok(Some(result.into()))
    }

    /// `err <code> <message>`.
    pub(crate) fn err(code: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Err {
            code: code.into(),
            message: message.to_string(),
        }
    }

    /// `err` with a protocol code's name (`device_limit`), or `failed` for
    /// a code without one.
    pub(crate) fn err_code(code: Code, message: impl std::fmt::Display) -> Self {
        Self::err(code.name().unwrap_or("failed"), message)
    }

    /// The line, without its line feed.
    pub(crate) fn line(&self) -> String {
        match self {
            Self::Ok(None) => "ok".into(),
            Self::Ok(Some(result)) => format!("ok {}", one_line(result)),
            Self::Err { code, message } => {
                format!("err {} {}", word(code), one_line(message))
            }
        }
    }
}

/// The line of an event.
pub(crate) fn event_line(event: &Value) -> String {
    format!("event {event}")
}

/// The process's standard output, as the adapter protocol uses it.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Set once a write failed: the runner is gone.
    broken: bool,
}

impl Output {
    /// Writes a response. One too long for a line becomes an `err`.
    pub(crate) fn respond(&mut self, response: &Response) {
        let mut line = response.line();
        if line.len() > MAX_LINE - 1 {
            line = Response::err(
                "failed",
                format!("the answer is longer than {MAX_LINE} bytes"),
            )
            .line();
        }
        self.write(&line);
    }

    /// Writes an event; one too long for a line is left out, and logged.
    pub(crate) fn event(&mut self, event: &Value) {
        let line = event_line(event);
        if line.len() > MAX_LINE - 1 {
            tracing::warn!(
                len = line.len(),
                "an event too long for a line was left out"
            );
            return;
        }
        self.write(&line);
    }

    /// Whether standard output failed (the runner closed it).
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    fn write(&mut self, line: &str) {
        if self.broken {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let written = stdout
            .write_all(line.as_bytes())
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush());
        if let Err(err) = written {
            tracing::warn!(%err, "standard output failed");
            self.broken = true;
        }
    }
}

/// Line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A code word: no spaces, never empty.
fn word(code: &str) -> String {
    let word: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if word.is_empty() {
        "failed".into()
    } else {
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_one_line_each() {
        assert_eq!(Response::ok().line(), "ok");
        assert_eq!(Response::ok_with("3 7").line(), "ok 3 7");
        assert_eq!(
            Response::err("bad_request", "two\nlines").line(),
            "err bad_request two lines"
        );
        assert_eq!(
            Response::err_code(Code::DEVICE_LIMIT, "full").line(),
            "err device_limit full"
        );
        assert_eq!(Response::err("", "").line(), "err failed ");
        let line = event_line(&serde_json::json!({"type": "x", "text": "a\nb"}));
        assert!(
            line.starts_with("event {") && !line.contains('\n'),
            "{line}"
        );
    }
}
