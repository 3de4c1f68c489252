//! Parsing the adapter's requests (spec §12.5.2, §12.5.3): a verb, then
//! arguments each after one space, the last one being the rest of the line.

use std::path::PathBuf;

/// A request of the primary role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `capabilities`.
    Capabilities,
    /// `link <text>`: scan this QR text.
    Link(String),
    /// `link-image <path>`: scan the QR code in this PNG image.
    LinkImage(PathBuf),
    /// `confirm`: the person confirms the pending link (§4.5).
    Confirm,
    /// `decline`: the person declines it.
    Decline,
    /// `add-contact <name>`.
    AddContact(String),
    /// `inject <chat_id> <text>`: a text arrives from the chat's contact.
    Inject {
        /// The chat.
        chat_id: u64,
        /// The text.
        text: String,
    },
    /// `send <chat_id> <text>`: the person sends from the phone.
    Send {
        /// The chat.
        chat_id: u64,
        /// The text.
        text: String,
    },
    /// `received`: the store's messages.
    Received,
    /// `devices`: the device list (§9.2).
    Devices,
    /// `revoke <device_id>` (§9.3).
    Revoke(String),
    /// `status`.
    Status,
    /// `restart` (§12.5.5).
    Restart,
    /// `quit`.
    Quit,
    /// A verb this primary does not implement (another role's, or a
    /// newer version's).
    Unsupported(String),
}

/// Why a line is not a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// An argument is missing.
    #[error("`{0}` needs {1}")]
    Missing(&'static str, &'static str),
    /// Arguments after a verb that takes none.
    #[error("`{0}` takes no argument")]
    Extra(&'static str),
    /// A chat id that is not a decimal number.
    #[error("`{0}` is not a chat id")]
    ChatId(String),
}

impl Request {
    /// Parses one line (without its line feed).
    pub(crate) fn parse(line: &str) -> Result<Self, ParseError> {
        let (verb, rest) = match line.split_once(' ') {
            Some((verb, rest)) => (verb, Some(rest)),
            None => (line, None),
        };
        let none = |verb: &'static str, request: Request| match rest {
            None => Ok(request),
            Some(_) => Err(ParseError::Extra(verb)),
        };
        let one = |verb: &'static str, what: &'static str| {
            rest.map(str::to_owned)
                .ok_or(ParseError::Missing(verb, what))
        };
        let chat_and_text = |verb: &'static str| -> Result<(u64, String), ParseError> {
            let (chat, text) = rest
                .and_then(|rest| rest.split_once(' '))
                .ok_or(ParseError::Missing(verb, "a chat id and a text"))?;
            let chat_id = chat
                .parse::<u64>()
                .ok()
                .filter(|_| chat.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ParseError::ChatId(chat.to_owned()))?;
            Ok((chat_id, text.to_owned()))
        };
        match verb {
            "" => Err(ParseError::Empty),
            "capabilities" => none("capabilities", Request::Capabilities),
            "link" => one("link", "the QR text").map(Request::Link),
            "link-image" => one("link-image", "a file path").map(|p| Request::LinkImage(p.into())),
            "confirm" => none("confirm", Request::Confirm),
            "decline" => none("decline", Request::Decline),
            "add-contact" => one("add-contact", "a name").map(Request::AddContact),
            "inject" => {
                chat_and_text("inject").map(|(chat_id, text)| Request::Inject { chat_id, text })
            }
            "send" => chat_and_text("send").map(|(chat_id, text)| Request::Send { chat_id, text }),
            "received" => none("received", Request::Received),
            "devices" => none("devices", Request::Devices),
            "revoke" => one("revoke", "a device id").map(Request::Revoke),
            "status" => none("status", Request::Status),
            "restart" => none("restart", Request::Restart),
            "quit" => none("quit", Request::Quit),
            other => Ok(Request::Unsupported(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_argument_is_the_rest_of_the_line() {
        assert_eq!(
            Request::parse("send 12 See you  at eight "),
            Ok(Request::Send {
                chat_id: 12,
                text: "See you  at eight ".into()
            })
        );
        assert_eq!(
            Request::parse("add-contact Ada Lovelace"),
            Ok(Request::AddContact("Ada Lovelace".into()))
        );
        assert_eq!(
            Request::parse("inject 3 "),
            Ok(Request::Inject {
                chat_id: 3,
                text: String::new()
            })
        );
        assert_eq!(Request::parse("quit"), Ok(Request::Quit));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert_eq!(Request::parse(""), Err(ParseError::Empty));
        assert_eq!(
            Request::parse("status now"),
            Err(ParseError::Extra("status"))
        );
        assert!(matches!(
            Request::parse("link"),
            Err(ParseError::Missing(..))
        ));
        assert!(matches!(
            Request::parse("inject 3"),
            Err(ParseError::Missing(..))
        ));
        assert!(matches!(
            Request::parse("send x hi"),
            Err(ParseError::ChatId(_))
        ));
        assert!(matches!(
            Request::parse("send +3 hi"),
            Err(ParseError::ChatId(_))
        ));
        assert!(matches!(
            Request::parse("send 99999999999999999999 hi"),
            Err(ParseError::ChatId(_))
        ));
    }

    #[test]
    fn other_verbs_are_unsupported_not_malformed() {
        assert_eq!(
            Request::parse("show-qr"),
            Ok(Request::Unsupported("show-qr".into()))
        );
        assert_eq!(
            Request::parse("fetch abc /tmp/x"),
            Ok(Request::Unsupported("fetch".into()))
        );
    }
}
