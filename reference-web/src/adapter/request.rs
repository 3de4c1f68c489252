//! The companion's requests of the endpoint adapter (spec §12.5.3): a verb,
//! then arguments each after one space, the last one the rest of the line;
//! a primary's request is `not_implemented`, a line that does not parse a
//! `bad_request` ([CONF-08]).

use std::path::PathBuf;

/// A request the companion understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `capabilities`.
    Capabilities,
    /// `show-qr`.
    ShowQr,
    /// `send <chat_id> <text>`.
    Send {
        /// The chat.
        chat_id: u64,
        /// The text, spaces included.
        text: String,
    },
    /// `read <chat_id>`.
    Read {
        /// The chat.
        chat_id: u64,
    },
    /// `history <chat_id>`.
    History {
        /// The chat.
        chat_id: u64,
    },
    /// `send-file <chat_id> <path>`.
    SendFile {
        /// The chat.
        chat_id: u64,
        /// The file.
        path: PathBuf,
    },
    /// `fetch <media_id> <path>`.
    Fetch {
        /// The media id.
        media_id: [u8; 32],
        /// Where to write the file.
        path: PathBuf,
    },
    /// `received`.
    Received,
    /// `unlink`.
    Unlink,
    /// `status`.
    Status,
    /// `restart`.
    Restart,
    /// `quit`.
    Quit,
}

/// Why a line is not a request this companion runs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// `not_implemented`: the request is not supported.
    #[error("{0}")]
    NotImplemented(String),
    /// `bad_request`: the line does not parse.
    #[error("{0}")]
    BadRequest(String),
}

impl Refusal {
    /// The response's code word.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NotImplemented(_) => "not_implemented",
            Self::BadRequest(_) => "bad_request",
        }
    }
}

/// The requests only a primary understands (§12.5.3's roles column).
const PRIMARY_ONLY: [&str; 8] = [
    "link",
    "link-image",
    "confirm",
    "decline",
    "add-contact",
    "inject",
    "devices",
    "revoke",
];

/// Parses one request line.
pub(crate) fn parse(line: &str) -> Result<Request, Refusal> {
    let (verb, rest) = match line.split_once(' ') {
        Some((verb, rest)) => (verb, Some(rest)),
        None => (line, None),
    };
    let bare = |request: Request| match rest {
        None => Ok(request),
        Some(_) => Err(bad(format!("`{verb}` takes no arguments"))),
    };
    match verb {
        "capabilities" => bare(Request::Capabilities),
        "show-qr" => bare(Request::ShowQr),
        "received" => bare(Request::Received),
        "unlink" => bare(Request::Unlink),
        "status" => bare(Request::Status),
        "restart" => bare(Request::Restart),
        "quit" => bare(Request::Quit),
        "send" => {
            let (chat, text) = two(verb, rest, "<chat_id> <text>")?;
            Ok(Request::Send {
                chat_id: chat_id(chat)?,
                text: text.to_owned(),
            })
        }
        "read" => Ok(Request::Read {
            chat_id: chat_id(one(verb, rest, "<chat_id>")?)?,
        }),
        "history" => Ok(Request::History {
            chat_id: chat_id(one(verb, rest, "<chat_id>")?)?,
        }),
        "send-file" => {
            let (chat, path) = two(verb, rest, "<chat_id> <path>")?;
            Ok(Request::SendFile {
                chat_id: chat_id(chat)?,
                path: file_path(path)?,
            })
        }
        "fetch" => {
            let (media, path) = two(verb, rest, "<media_id> <path>")?;
            Ok(Request::Fetch {
                media_id: media_id(media)?,
                path: file_path(path)?,
            })
        }
        "" => Err(bad("an empty line is no request".into())),
        verb if PRIMARY_ONLY.contains(&verb) => Err(Refusal::NotImplemented(format!(
            "`{verb}` is a primary's request; this is a companion"
        ))),
        verb => Err(Refusal::NotImplemented(format!(
            "unknown request `{}`",
            verb.escape_debug()
        ))),
    }
}

fn bad(message: String) -> Refusal {
    Refusal::BadRequest(message)
}

/// The single argument (the rest of the line).
fn one<'a>(verb: &str, rest: Option<&'a str>, usage: &str) -> Result<&'a str, Refusal> {
    match rest {
        Some(rest) if !rest.is_empty() => Ok(rest),
        _ => Err(bad(format!("usage: {verb} {usage}"))),
    }
}

/// A word, then the rest of the line (possibly empty, for a text).
fn two<'a>(verb: &str, rest: Option<&'a str>, usage: &str) -> Result<(&'a str, &'a str), Refusal> {
    rest.and_then(|rest| rest.split_once(' '))
        .ok_or_else(|| bad(format!("usage: {verb} {usage}")))
}

fn chat_id(text: &str) -> Result<u64, Refusal> {
    text.parse()
        .map_err(|_| bad(format!("{:?} is not a chat id (a u64)", text)))
}

fn media_id(text: &str) -> Result<[u8; 32], Refusal> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| bad(format!("{text:?} is not a media id (64 hex digits)")))
}

fn file_path(text: &str) -> Result<PathBuf, Refusal> {
    if text.is_empty() {
        return Err(bad("an empty path".into()));
    }
    Ok(PathBuf::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_the_rest_of_the_line_last() {
        assert_eq!(parse("capabilities"), Ok(Request::Capabilities));
        assert_eq!(
            parse("send 1 See you at eight "),
            Ok(Request::Send {
                chat_id: 1,
                text: "See you at eight ".into()
            })
        );
        assert_eq!(
            parse("send 18446744073709551615 "),
            Ok(Request::Send {
                chat_id: u64::MAX,
                text: String::new()
            })
        );
        assert_eq!(parse("read 7"), Ok(Request::Read { chat_id: 7 }));
        assert_eq!(
            parse("send-file 2 /tmp/a file.png"),
            Ok(Request::SendFile {
                chat_id: 2,
                path: "/tmp/a file.png".into()
            })
        );
        let id = "ab".repeat(32);
        assert_eq!(
            parse(&format!("fetch {id} out.bin")),
            Ok(Request::Fetch {
                media_id: [0xab; 32],
                path: "out.bin".into()
            })
        );
    }

    #[test]
    fn bad_lines_and_other_roles_requests_are_told_apart() {
        for line in [
            "",
            "send",
            "send 1",
            "send x hi",
            "read",
            "read one",
            "history -1",
            "fetch 00 out",
            "fetch",
            "status now",
            "quit ",
        ] {
            assert_eq!(
                parse(line).map_err(|e| e.code()),
                Err("bad_request"),
                "{line:?}"
            );
        }
        for line in [
            "link TANDEM:AAAA",
            "confirm",
            "devices",
            "frobnicate",
            "SEND 1 x",
        ] {
            assert_eq!(
                parse(line).map_err(|e| e.code()),
                Err("not_implemented"),
                "{line:?}"
            );
        }
    }
}
