//! The conformance adapter (spec §12.5) as the runner uses it: the built
//! binary started with `--state DIR adapter --relay URL`, requests on its
//! standard input, responses and events read from its standard output, a
//! real relay on loopback and a real pairing companion. Every wait is for a
//! line, with a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;
use tandem_codec::session::Body;
use tandem_proto::companion::pairing::PairingEvent;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

/// The adapter's `ADAPTER_TIMEOUT` (§12.5.2): every answer, and the exit
/// after `quit`, must come within it.
const ADAPTER_TIMEOUT: Duration = Duration::from_secs(10);

/// The adapter as a child process.
struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// Events read while waiting for something else.
    events: Vec<Value>,
}

impl Adapter {
    fn start(state: &Path, relay: &str, extra: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(BIN)
            .arg("--state")
            .arg(state)
            .args(["adapter", "--relay", relay])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the phone binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            events: Vec::new(),
        }
    }

    async fn next_line(&mut self, what: &str) -> String {
        tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("no line in time waiting for {what}"))
            .unwrap_or_else(|| panic!("the adapter's output ended waiting for {what}"))
    }

    async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Sends a request and returns its response line; events that come
    /// first are kept for [`Adapter::event`].
    async fn request(&mut self, line: &str) -> String {
        self.send_line(line).await;
        let answer = tokio::time::timeout(ADAPTER_TIMEOUT, async {
            loop {
                let line = self.next_line(line).await;
                match line.strip_prefix("event ") {
                    Some(json) => self.events.push(serde_json::from_str(json).unwrap()),
                    None => return line,
                }
            }
        })
        .await;
        answer.unwrap_or_else(|_| panic!("no answer to {line:?} within ADAPTER_TIMEOUT"))
    }

    /// `request`, expecting `ok <JSON>`.
    async fn json(&mut self, line: &str) -> Value {
        let answer = self.request(line).await;
        let json = answer
            .strip_prefix("ok ")
            .unwrap_or_else(|| panic!("{line}: {answer}"));
        serde_json::from_str(json).unwrap()
    }

    /// Waits for the next event of type `kind` (one already read counts).
    async fn event(&mut self, kind: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["type"] == kind) {
            return self.events.remove(at);
        }
        loop {
            let line = self.next_line(kind).await;
            let json = line
                .strip_prefix("event ")
                .unwrap_or_else(|| panic!("an unexpected response {line:?}"));
            let event: Value = serde_json::from_str(json).unwrap();
            if event["type"] == kind {
                return event;
            }
            self.events.push(event);
        }
    }

    /// Waits for the process to exit, within `ADAPTER_TIMEOUT` ([CONF-10]).
    async fn exit(mut self) -> ExitStatus {
        tokio::time::timeout(ADAPTER_TIMEOUT, self.child.wait())
            .await
            .expect("the adapter exits within ADAPTER_TIMEOUT")
            .unwrap()
    }

    /// `quit`, then the exit with status 0.
    async fn quit(mut self) {
        assert_eq!(self.request("quit").await, "ok");
        assert!(self.exit().await.success());
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn capabilities_and_lines_it_does_not_take() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let mut adapter = Adapter::start(&path.join("phone"), &relay.url, &[]);
    let capabilities = adapter.request("capabilities").await;
    let words: Vec<&str> = capabilities.split(' ').collect();
    assert_eq!(words[..3], ["ok", "adapter/1", "primary"], "{capabilities}");
    for capability in ["pair", "sync", "send", "devices", "inject", "restart"] {
        assert!(words.contains(&capability), "{capabilities}");
    }
    // [CONF-08] other roles' requests and unknown verbs.
    for line in ["show-qr", "unlink", "fly away"] {
        let answer = adapter.request(line).await;
        assert!(
            answer.starts_with("err not_implemented "),
            "{line}: {answer}"
        );
    }
    // Lines that do not parse.
    for line in ["", "inject one hello", "inject 1", "status now", "link"] {
        let answer = adapter.request(line).await;
        assert!(answer.starts_with("err bad_request "), "{line:?}: {answer}");
    }
    // [CONF-06] a line over 1,048,576 bytes is refused whole.
    let long = format!("send 1 {}", "x".repeat(1_048_576));
    assert!(adapter.request(&long).await.starts_with("err bad_request "));
    // Refused locally with the §1.4 kind ([QR-02], [QR-04]).
    assert!(
        adapter
            .request("link HELLO")
            .await
            .starts_with("err invalid_prefix ")
    );
    assert!(
        adapter
            .request("link TANDEM:AIAA")
            .await
            .starts_with("err unsupported_version ")
    );
    assert!(
        adapter
            .request("confirm")
            .await
            .starts_with("err invalid_state ")
    );
    assert!(
        adapter
            .request("inject 42 hello")
            .await
            .starts_with("err unknown_chat ")
    );
    let status = adapter.json("status").await;
    assert_eq!(status["companions"], 0);
    assert!(status["route_registered"].is_boolean());
    adapter.quit().await;
    relay.stop().await;
}

#[tokio::test]
async fn injected_and_sent_messages_are_received_and_survive_a_restart() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = path.join("phone");
    let mut adapter = Adapter::start(&state, &relay.url, &[]);
    assert!(adapter.request("capabilities").await.starts_with("ok "));
    // A new phone has no contacts that write on their own.
    assert_eq!(adapter.json("received").await, serde_json::json!([]));
    let added = adapter.request("add-contact Ada Lovelace").await;
    let ids: Vec<u64> = added
        .strip_prefix("ok ")
        .unwrap()
        .split(' ')
        .map(|id| id.parse().unwrap())
        .collect();
    let chat = ids[1];
    let injected = adapter
        .request(&format!("inject {chat} Lunch at one?"))
        .await;
    let message_id: u64 = injected.strip_prefix("ok ").unwrap().parse().unwrap();
    let event = adapter.event("message").await;
    assert_eq!(event["message"]["message_id"], message_id);
    assert_eq!(event["message"]["sender"], ids[0]);
    assert_eq!(
        event["message"]["body"],
        serde_json::json!({"kind": "text", "text": "Lunch at one?"})
    );
    let sent = adapter.request(&format!("send {chat} Yes, see you")).await;
    let sent_id: u64 = sent.strip_prefix("ok ").unwrap().parse().unwrap();
    let event = adapter.event("message").await;
    assert_eq!(event["message"]["message_id"], sent_id);
    assert_eq!(event["message"]["sender"], 0);
    assert_eq!(event["message"]["status"], "sent");

    let received = adapter.json("received").await;
    let ids: Vec<u64> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [message_id, sent_id]);

    // [CONF-10] restart: ok, exit 0; the same folder is found again.
    assert_eq!(adapter.request("restart").await, "ok");
    assert!(adapter.exit().await.success());
    let mut again = Adapter::start(&state, &relay.url, &[]);
    assert!(again.request("capabilities").await.starts_with("ok "));
    assert_eq!(again.json("received").await, received);
    again.quit().await;

    // Closed standard input: the runner is gone, the adapter exits.
    let mut closed = Adapter::start(&state, &relay.url, &[]);
    assert!(closed.request("capabilities").await.starts_with("ok "));
    closed.stdin = None;
    assert!(closed.exit().await.success());
    relay.stop().await;
}

#[tokio::test]
async fn a_companion_is_linked_only_after_confirm_then_listed_and_revoked() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let mut adapter = Adapter::start(&path.join("phone"), &relay.url, &[]);
    assert!(adapter.request("capabilities").await.starts_with("ok "));
    let mut pairing = pairing(&relay.url, "Firefox on laptop");
    let text = shown_code(&mut pairing).await;

    // The link waits for the phone to be on the relay, then starts.
    assert_eq!(adapter.request(&format!("link {text}")).await, "ok");
    let shown = adapter.event("check_code").await;
    let companion_code = pairing
        .wait("CheckCode", |e| match e {
            PairingEvent::CheckCode { code, .. } => Some(code.to_string()),
            _ => None,
        })
        .await;
    // [PAIR-04] the same code on both, with the companion's name.
    assert_eq!(shown["code"], digits(&companion_code));
    assert_eq!(shown["code"].as_str().unwrap().len(), 6);
    assert_eq!(shown["device_name"], "Firefox on laptop");
    // [PAIR-06] nothing stored before the person confirms.
    assert_eq!(adapter.json("devices").await, serde_json::json!([]));

    assert_eq!(adapter.request("confirm").await, "ok");
    let linked = adapter.event("linked").await;
    assert_eq!(linked["device_name"], "Firefox on laptop");
    let device_id = linked["device_id"].as_str().unwrap().to_owned();
    assert_eq!(device_id.len(), 16);
    assert!(device_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let credentials = paired(&mut pairing).await;
    assert_eq!(credentials.account_name, "Conformance");

    let devices = adapter.json("devices").await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    assert_eq!(devices[0]["device_id"], device_id.as_str());
    assert_eq!(devices[0]["device_name"], "Firefox on laptop");
    assert!(devices[0]["linked_at_ms"].as_u64().unwrap() > 0);
    assert_eq!(adapter.json("status").await["companions"], 1);

    // The companion reconnects on the route and syncs; a message injected
    // on the phone is then a message event too.
    let mut companion = companion(&relay.url, credentials);
    synced(&mut companion).await;
    let contact = adapter.request("add-contact Ada").await;
    let chat = contact.rsplit(' ').next().unwrap().to_owned();
    assert!(
        adapter
            .request(&format!("inject {chat} hello"))
            .await
            .starts_with("ok ")
    );
    adapter.event("message").await;
    // A companion's send is stored, and shown.
    let chat_id: u64 = chat.parse().unwrap();
    companion
        .call(move |c, _| c.send_message(chat_id, Body::Text("from the laptop".into())))
        .await
        .unwrap();
    let shown = adapter.event("message").await;
    assert_eq!(shown["message"]["body"]["text"], "from the laptop");
    assert_eq!(shown["message"]["sender"], 0);

    // [DEV-04] revoked: the adapter shows it unlinked.
    assert_eq!(adapter.request(&format!("revoke {device_id}")).await, "ok");
    let unlinked = adapter.event("unlinked").await;
    assert_eq!(unlinked["device_id"], device_id.as_str());
    assert_eq!(unlinked["code"], 4102);
    assert_eq!(unlinked["reason"], "device_revoked");
    assert_eq!(adapter.json("devices").await, serde_json::json!([]));
    companion.stop().await;
    adapter.quit().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_declined_link_fails_and_stores_nothing() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let mut pairing = pairing(&relay.url, "Unknown tablet");
    let text = shown_code(&mut pairing).await;
    // `{qr_payload}` at start: the phone scans it without a `link`.
    let mut adapter = Adapter::start(&path.join("phone"), &relay.url, &["--qr", &text]);
    assert!(adapter.request("capabilities").await.starts_with("ok "));
    let shown = adapter.event("check_code").await;
    assert_eq!(shown["device_name"], "Unknown tablet");
    assert_eq!(adapter.request("decline").await, "ok");
    let failed = adapter.event("pairing_failed").await;
    assert_eq!(failed["code"], 4103);
    assert_eq!(failed["reason"], "pairing_rejected");
    let code = pairing
        .wait("Failed", |e| match e {
            PairingEvent::Failed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, tandem_codec::Code::PAIRING_REJECTED);
    assert_eq!(adapter.json("devices").await, serde_json::json!([]));
    assert!(
        adapter
            .request("decline")
            .await
            .starts_with("err invalid_state ")
    );
    adapter.quit().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_pairing_cut_by_the_relay_fails_and_the_phone_can_still_quit() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let mut adapter = Adapter::start(&path.join("phone"), &relay.url, &[]);
    assert!(adapter.request("capabilities").await.starts_with("ok "));
    let mut pairing = pairing(&relay.url, "Laptop");
    let text = shown_code(&mut pairing).await;
    assert_eq!(adapter.request(&format!("link {text}")).await, "ok");
    adapter.event("check_code").await;
    // The relay goes away while the person looks at the code.
    relay.stop().await;
    let failed = adapter.event("pairing_failed").await;
    assert!(failed["code"].as_u64().unwrap() > 0, "{failed}");
    let closed = adapter.event("closed").await;
    assert_eq!(closed["scope"], "connection");
    assert!(
        adapter
            .request("confirm")
            .await
            .starts_with("err invalid_state ")
    );
    assert_eq!(adapter.json("devices").await, serde_json::json!([]));
    adapter.quit().await;
}

#[tokio::test]
async fn a_companion_that_unlinks_itself_is_shown_unlinked() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let mut adapter = Adapter::start(&path.join("phone"), &relay.url, &[]);
    assert!(adapter.request("capabilities").await.starts_with("ok "));
    let mut pairing = pairing(&relay.url, "Tablet");
    let text = shown_code(&mut pairing).await;
    assert_eq!(adapter.request(&format!("link {text}")).await, "ok");
    adapter.event("check_code").await;
    assert_eq!(adapter.request("confirm").await, "ok");
    let device_id = adapter.event("linked").await["device_id"].clone();
    let credentials = paired(&mut pairing).await;
    let mut companion = companion(&relay.url, credentials);
    synced(&mut companion).await;
    assert_eq!(adapter.json("devices").await[0]["connected"], true);
    // [DEV-06] the companion logs out.
    companion.call(|c, _| c.unlink()).await.unwrap();
    let unlinked = adapter.event("unlinked").await;
    assert_eq!(unlinked["device_id"], device_id);
    assert_eq!(unlinked["code"], 4114);
    assert_eq!(unlinked["reason"], "unlinked");
    assert_eq!(adapter.json("devices").await, serde_json::json!([]));
    companion.stop().await;
    adapter.quit().await;
    relay.stop().await;
}
