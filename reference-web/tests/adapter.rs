//! `tandem-web adapter`, the endpoint adapter of spec §12.5 for the companion
//! role, as the conformance runner uses it: the binary driven by lines,
//! against the relay and the phone as processes on loopback.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_codec::qr::QrPayload;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// The adapter as a child process, with its lines.
struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::UnboundedReceiver<String>,
    /// Events read while waiting for something else.
    backlog: Vec<Value>,
    /// Every line of both streams, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Adapter {
    /// `tandem-web --state STATE adapter --relay RELAY`, the command
    /// template the runner is given.
    fn start(state: &Path, relay: &str) -> Self {
        let mut child = Command::new(WEB)
            .args([
                "--state",
                state.to_str().unwrap(),
                "adapter",
                "--relay",
                relay,
                "--name",
                "Adapter web",
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start tandem-web adapter");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, stdout) = mpsc::unbounded_channel();
        let out = child.stdout.take().unwrap();
        let out_log = Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                out_log.lock().unwrap().push(format!("< {line}"));
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = child.stderr.take().unwrap();
        let err_log = Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                err_log.lock().unwrap().push(format!("  stderr: {line}"));
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            stdout,
            backlog: Vec::new(),
            log,
        }
    }

    fn transcript(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The next line of stdout, within [`WAIT`].
    async fn line(&mut self, waiting_for: &str) -> String {
        match tokio::time::timeout(WAIT, self.stdout.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "the adapter closed stdout while {waiting_for}:\n{}",
                self.transcript()
            ),
            Err(_) => panic!(
                "no line in time while {waiting_for}:\n{}",
                self.transcript()
            ),
        }
    }

    /// Sends a request and returns its response; events met on the way
    /// are kept for [`Adapter::event`].
    async fn request(&mut self, request: &str) -> String {
        self.log.lock().unwrap().push(format!("> {request}"));
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        loop {
            let line = self
                .line(&format!("waiting for the answer to {request:?}"))
                .await;
            match line.strip_prefix("event ") {
                Some(json) => self.backlog.push(serde_json::from_str(json).unwrap()),
                None => return line,
            }
        }
    }

    /// A request that must succeed; its result.
    async fn ok(&mut self, request: &str) -> String {
        let response = self.request(request).await;
        assert!(
            response == "ok" || response.starts_with("ok "),
            "{request:?} got {response:?}:\n{}",
            self.transcript()
        );
        response.strip_prefix("ok ").unwrap_or_default().to_owned()
    }

    /// Waits for an event matching `wanted` (earlier ones first).
    async fn event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(at);
        }
        loop {
            let line = self.line(&format!("waiting for the event {what}")).await;
            let Some(json) = line.strip_prefix("event ") else {
                panic!(
                    "a response {line:?} with no request while waiting for {what}:\n{}",
                    self.transcript()
                );
            };
            let event: Value = serde_json::from_str(json).unwrap();
            if wanted(&event) {
                return event;
            }
            self.backlog.push(event);
        }
    }

    /// Waits for the process to exit.
    async fn exit(mut self) -> ExitStatus {
        match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("the adapter did not exit in time:\n{}", self.transcript()),
        }
    }

    /// `restart` or `quit`: answered `ok`, then exit status 0 ([CONF-10]).
    async fn stop(mut self, request: &str) {
        assert_eq!(self.request(request).await, "ok");
        let log = Arc::clone(&self.log);
        let status = self.exit().await;
        assert!(
            status.success(),
            "{request} exited with {status}:\n{}",
            log.lock().unwrap().join("\n")
        );
    }
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind
}

fn text_of(message: &Value) -> Option<&str> {
    message["body"]["text"].as_str()
}

/// The chat id of `title` on the phone.
async fn chat_id(phone_state: &Path, title: &str) -> u64 {
    let chats = json(&phone(phone_state, &["chats", "--json"]).await);
    chats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == title)
        .unwrap_or_else(|| panic!("no chat {title} in {chats}"))["chat_id"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_that_are_not_requests_get_typed_answers() {
    let temp = tempfile::tempdir().unwrap();
    // Nothing listens there: nothing here needs the relay.
    let mut adapter = Adapter::start(&temp.path().join("web"), "ws://127.0.0.1:9");
    assert_eq!(
        adapter.ok("capabilities").await,
        "adapter/1 companion pair reconnect sync send history read media devices restart"
    );
    let status: Value = serde_json::from_str(&adapter.ok("status").await).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"linked": false, "account_name": null, "primary_online": false})
    );
    assert_eq!(adapter.ok("received").await, "[]");
    for (request, code) in [
        ("", "bad_request"),
        ("send", "bad_request"),
        ("send one hello", "bad_request"),
        ("fetch 12 out.bin", "bad_request"),
        ("status please", "bad_request"),
        ("link TANDEM:AAAA", "not_implemented"),
        ("devices", "not_implemented"),
        ("dance", "not_implemented"),
        ("send 1 hello", "invalid_state"),
        ("read 1", "invalid_state"),
        ("unlink", "invalid_state"),
    ] {
        let response = adapter.request(request).await;
        assert!(
            response.starts_with(&format!("err {code}")),
            "{request:?} got {response:?}"
        );
    }
    // [CONF-06] a line over 1,048,576 bytes is refused and skipped whole.
    let long = format!("send 1 {}", "x".repeat(1 << 20));
    assert!(adapter.request(&long).await.starts_with("err bad_request"));
    assert_eq!(
        adapter.ok("capabilities").await.split(' ').next(),
        Some("adapter/1")
    );
    // The relay cannot be reached: show-qr says so, typed.
    let refused = adapter.request("show-qr").await;
    assert!(refused.starts_with("err "), "{refused}");
    // §12.5.5: closed standard input ends the process, status 0.
    drop(adapter.stdin.take());
    let status = adapter.exit().await;
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_sends_transfers_and_keeps_the_link_across_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let phone_state = temp.path().join("phone");
    let web_state = temp.path().join("web");
    let relay = Relay::start().await;
    ok(&phone(&phone_state, &["init", "--name", "Ada"]).await);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;

    let mut adapter = Adapter::start(&web_state, &relay.url);
    assert!(adapter.ok("capabilities").await.contains(" companion "));

    // Pairing (§4): the QR text is the payload the phone scans.
    let text = adapter.ok("show-qr").await;
    let payload = QrPayload::from_text(&text).expect("a QR text");
    assert_eq!(payload.relay_url, relay.url);
    let linked = ok(&phone(&phone_state, &["link", &text, "--yes"]).await);
    assert!(linked.contains("Linked Adapter web"), "{linked}");
    let phone_code: String = linked
        .lines()
        .find_map(|l| l.strip_prefix("Check code: "))
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let check = adapter.event("check_code", is("check_code")).await;
    assert_eq!(check["code"], phone_code.as_str());
    assert_eq!(check["account_name"], "Ada");
    let done = adapter.event("linked", is("linked")).await;
    assert_eq!(done["account_name"], "Ada");
    adapter
        .event("peer online", |e| {
            e["type"] == "peer" && e["online"] == true
        })
        .await;
    // The first sync shows the seeded welcome message.
    adapter
        .event("the welcome message", |e| {
            e["type"] == "message"
                && text_of(&e["message"]).is_some_and(|t| t.starts_with("Welcome"))
        })
        .await;
    let status: Value = serde_json::from_str(&adapter.ok("status").await).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"linked": true, "account_name": "Ada", "primary_online": true})
    );

    // A send (§7.6): the client id, then the phone's answer.
    let echo = chat_id(&phone_state, "Echo").await;
    let client_id = adapter
        .ok(&format!("send {echo} hello from the adapter"))
        .await;
    assert_eq!(client_id.len(), 32);
    let result = adapter
        .event("send_result", |e| {
            e["type"] == "send_result" && e["client_id"] == client_id.as_str()
        })
        .await;
    let message_id = result["message_id"].as_u64().expect("a message id");
    // Its `MessageAdded` event may come before or after the `SendAck`.
    adapter
        .event("the message sent", |e| {
            e["type"] == "message" && e["message"]["message_id"] == message_id
        })
        .await;
    let received: Value = serde_json::from_str(&adapter.ok("received").await).unwrap();
    let mine = received
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["message_id"] == message_id)
        .unwrap_or_else(|| panic!("message {message_id} not in {received}"));
    assert_eq!(text_of(mine), Some("hello from the adapter"));
    assert_eq!(mine["sender"], 0);
    let keys: Vec<(u64, u64)> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["chat_id"].as_u64().unwrap(),
                m["message_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "not sorted: {keys:?}");

    // Messages from the phone's side arrive as events: Echo's answer and
    // one injected.
    adapter
        .event("Echo's answer", |e| {
            e["type"] == "message" && text_of(&e["message"]) == Some("echo: hello from the adapter")
        })
        .await;
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "from the phone"],
    )
    .await);
    let injected = adapter
        .event("the injected message", |e| {
            e["type"] == "message" && text_of(&e["message"]) == Some("from the phone")
        })
        .await;
    assert_ne!(injected["message"]["sender"], 0);

    // Read marks (§7.8) and history (§7.7) are started, or refused typed.
    assert_eq!(adapter.request(&format!("read {echo}")).await, "ok");
    let history = adapter.request(&format!("history {echo}")).await;
    assert!(
        history == "ok" || history.starts_with("err invalid_state"),
        "{history}"
    );
    assert!(
        adapter
            .request("read 987654")
            .await
            .starts_with("err unknown_chat")
    );

    // A file up (§8.2), sent, and back down checked by hash (§8.3).
    let file = temp.path().join("picture.bin");
    let bytes: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let file_send = adapter
        .ok(&format!("send-file {echo} {}", file.display()))
        .await;
    adapter
        .event("send_result of the file", |e| {
            e["type"] == "send_result"
                && e["client_id"] == file_send.as_str()
                && e["message_id"].is_u64()
        })
        .await;
    let media_id = hex::encode(Sha256::digest(&bytes));
    let copy = temp.path().join("copy of picture.bin");
    let size = adapter
        .ok(&format!("fetch {media_id} {}", copy.display()))
        .await;
    assert_eq!(size, bytes.len().to_string());
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);

    // restart (§12.5.5): the link is kept and the companion reconnects by
    // itself.
    adapter.stop("restart").await;
    let mut adapter = Adapter::start(&web_state, &relay.url);
    assert!(adapter.ok("capabilities").await.starts_with("adapter/1"));
    let status: Value = serde_json::from_str(&adapter.ok("status").await).unwrap();
    assert_eq!(status["linked"], true);
    assert_eq!(status["account_name"], "Ada");
    adapter
        .event("peer online after the restart", |e| {
            e["type"] == "peer" && e["online"] == true
        })
        .await;
    adapter
        .event("the earlier send, synced again", |e| {
            e["type"] == "message" && e["message"]["message_id"] == message_id
        })
        .await;

    // A send while the phone is away stays queued across a restart and
    // goes out, once, when the phone is back ([SYNC-19]).
    serving.kill().await;
    adapter
        .event("peer offline", |e| {
            e["type"] == "peer" && e["online"] == false
        })
        .await;
    let queued = adapter
        .ok(&format!("send {echo} sent while the phone was away"))
        .await;
    adapter.stop("restart").await;
    let mut adapter = Adapter::start(&web_state, &relay.url);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;
    adapter
        .event("the queued send's result", |e| {
            e["type"] == "send_result"
                && e["client_id"] == queued.as_str()
                && e["message_id"].is_u64()
        })
        .await;

    // unlink (§9.4): wiped, told, and no longer linked.
    assert_eq!(adapter.request("unlink").await, "ok");
    let unlinked = adapter.event("unlinked", is("unlinked")).await;
    assert_eq!(unlinked["reason"], "unlinked");
    let status: Value = serde_json::from_str(&adapter.ok("status").await).unwrap();
    assert_eq!(status["linked"], false);
    assert!(!web_state.join("link.json").exists());
    adapter.stop("quit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_codes_rotate_then_pairing_fails_typed() {
    let temp = tempfile::tempdir().unwrap();
    let relay = Relay::start_with(&["--channel-ttl", "150ms"]).await;
    let mut adapter = Adapter::start(&temp.path().join("web"), &relay.url);
    let first = adapter.ok("show-qr").await;
    // [QR-07] a new code, with a new channel and secret, for each expired
    // one; [QR-08] then the end, with the last channel's code.
    let mut seen = vec![QrPayload::from_text(&first).unwrap().channel_id];
    for number in 2..=5 {
        let code = adapter.event("a rotated code", is("qr")).await;
        assert_eq!(code["number"], number);
        let payload = QrPayload::from_text(code["text"].as_str().unwrap()).unwrap();
        assert!(!seen.contains(&payload.channel_id));
        seen.push(payload.channel_id);
    }
    let failed = adapter.event("pairing_failed", is("pairing_failed")).await;
    assert_eq!(failed["reason"], "channel_expired");
    assert!(failed["code"].is_u64());
    let status: Value = serde_json::from_str(&adapter.ok("status").await).unwrap();
    assert_eq!(status["linked"], false);
    // The person may ask for a code again.
    let again = adapter.ok("show-qr").await;
    assert!(QrPayload::from_text(&again).is_ok());
    adapter.stop("quit").await;
}
