//! What the adapter writes (spec §12.5.2, §12.5.4): responses `ok` and
//! `err <code> <message>`, and `event` lines with the JSON of what the person
//! is shown; messages in their §13.2 JSON form.

use serde_json::{Value, json};
use tandem_codec::Code;
use tandem_codec::session::Message;

use crate::error::WebError;

/// A response to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `ok` or `ok <result>`.
    Ok(Option<String>),
    /// `err <code> <message>`.
    Err {
        /// One word: a §10.2 code name, a §1.4 error kind, or one of the
        /// adapter's own (`invalid_state`, `failed`, ...).
        code: String,
        /// For people.
        message: String,
    },
}

impl Reply {
    /// `ok`.
    pub(crate) fn ok() -> Self {
        Self::Ok(None)
    }

    /// `ok <result>`.
    pub(crate) fn ok_with(result: impl Into<String>) -> Self {
        Self::Ok(Some(result.into()))
    }

    /// `err <code> <message>`.
    pub(crate) fn err(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Err {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `err invalid_state <message>`: not possible now.
    pub(crate) fn invalid_state(message: impl Into<String>) -> Self {
        Self::err("invalid_state", message)
    }

    /// The response for an action that failed.
    pub(crate) fn from_error(err: &WebError) -> Self {
        let code = match err {
            WebError::Refused { code } | WebError::PairingFailed { code, .. } => code_word(*code),
            WebError::HashMismatch => code_word(Code::MEDIA_HASH_MISMATCH),
            WebError::NotLinked(_)
            | WebError::AlreadyLinked { .. }
            | WebError::Wiped { .. }
            | WebError::PhoneOffline(_)
            | WebError::Busy(_) => "invalid_state".into(),
            WebError::Core(core) => code_word(core.code()),
            _ => "failed".into(),
        };
        Self::err(code, err.to_string())
    }

    /// The line.
    pub(crate) fn line(&self) -> String {
        match self {
            Self::Ok(None) => "ok".into(),
            Self::Ok(Some(result)) => format!("ok {result}"),
            Self::Err { code, message } if message.is_empty() => format!("err {code}"),
            Self::Err { code, message } => format!("err {code} {message}"),
        }
    }
}

/// A code's name for `err` and `reason` (§10.2), or `failed` for a code this
/// version does not know.
pub(crate) fn code_word(code: Code) -> String {
    code.name().unwrap_or("failed").to_owned()
}

/// A code's name for an event's `reason`, or its number for a code this
/// version does not know ([ERR-01]).
fn reason(code: Code) -> String {
    code.name()
        .map_or_else(|| code.0.to_string(), str::to_owned)
}

/// `qr`: a new code after rotation ([QR-07]).
pub(crate) fn qr(text: &str, number: u32) -> Value {
    json!({ "type": "qr", "text": text, "number": number })
}

/// `check_code` ([PAIR-04]), six digits.
pub(crate) fn check_code(digits: &str, account_name: &str) -> Value {
    json!({ "type": "check_code", "code": digits, "account_name": account_name })
}

/// `linked` ([PAIR-08]).
pub(crate) fn linked(account_name: &str, device_id: &str) -> Value {
    json!({ "type": "linked", "account_name": account_name, "device_id": device_id })
}

/// `pairing_failed` (§4.6, [QR-08]).
pub(crate) fn pairing_failed(code: Code, message: &str) -> Value {
    json!({
        "type": "pairing_failed",
        "code": code.0,
        "reason": reason(code),
        "message": message,
    })
}

/// `unlinked`: this companion stopped being linked and wiped its state
/// ([RECON-07], [DEV-07], [DEV-09]).
pub(crate) fn unlinked(code: Code, message: &str) -> Value {
    json!({
        "type": "unlinked",
        "code": code.0,
        "reason": reason(code),
        "message": message,
    })
}

/// `peer`: the primary shown online or offline (§7.6).
pub(crate) fn peer(online: bool) -> Value {
    json!({ "type": "peer", "online": online })
}

/// `message`: a message appeared or changed.
pub(crate) fn message(message: &Message) -> Value {
    json!({ "type": "message", "message": message })
}

/// `send_result` for a `SendAck`.
pub(crate) fn send_acked(client_id: &[u8; 16], message_id: u64) -> Value {
    json!({
        "type": "send_result",
        "client_id": hex::encode(client_id),
        "message_id": message_id,
    })
}

/// `send_result` for a `SendFailed` ([SYNC-20]).
pub(crate) fn send_failed(client_id: &[u8; 16], code: Code) -> Value {
    json!({
        "type": "send_result",
        "client_id": hex::encode(client_id),
        "code": code.0,
        "reason": reason(code),
    })
}

/// Where a `closed` happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The WebSocket to the relay.
    Connection,
    /// The session with the primary.
    Session,
}

/// `closed`: a connection or session ended with a code the person is told.
pub(crate) fn closed(code: Code, scope: Scope) -> Value {
    let scope = match scope {
        Scope::Connection => "connection",
        Scope::Session => "session",
    };
    json!({ "type": "closed", "code": code.0, "reason": reason(code), "scope": scope })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::session::{Body, MessageStatus};

    #[test]
    fn replies_and_events_have_the_spec_form() {
        assert_eq!(Reply::ok().line(), "ok");
        assert_eq!(Reply::ok_with("TANDEM:AB").line(), "ok TANDEM:AB");
        assert_eq!(
            Reply::err("bad_request", "usage").line(),
            "err bad_request usage"
        );
        assert_eq!(Reply::err("failed", "").line(), "err failed");
        assert_eq!(
            Reply::from_error(&WebError::HashMismatch).line(),
            format!("err media_hash_mismatch {}", WebError::HashMismatch)
        );
        let m = Message {
            message_id: u64::MAX,
            chat_id: 1,
            sender: 0,
            timestamp_ms: 1_767_225_600_000,
            status: MessageStatus::Sent,
            body: Body::Text("See you at eight".into()),
        };
        let expected: Value = serde_json::from_str(
            r#"{"type":"message","message":{"message_id":18446744073709551615,"chat_id":1,
            "sender":0,"timestamp_ms":1767225600000,"status":"sent",
            "body":{"kind":"text","text":"See you at eight"}}}"#,
        )
        .unwrap();
        assert_eq!(message(&m), expected);
        assert_eq!(
            send_failed(&[0xab; 16], Code::UNKNOWN_CHAT)["reason"],
            "unknown_chat"
        );
        assert_eq!(closed(Code(4999), Scope::Session)["reason"], "4999");
    }
}
