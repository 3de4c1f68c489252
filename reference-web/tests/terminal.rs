//! `tandem-web chat` in tmux (issue 8): chat list and unread counts, history
//! on scroll ([SYNC-22]), read marks and typing (§7.8), the "phone not
//! connected" banner (§3.5), a send shown pending then delivered (§7.6).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server of this test's own, with one session running the client.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "chat"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    fn type_text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", "chat", "-l", text])
                .status
                .success()
        );
    }

    /// Polls the pane until `check` holds for it.
    async fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what}; it shows:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    async fn shows(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text)).await
    }

    /// Presses `key` until the screen shows `text`.
    async fn press_until(&self, key: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.screen().contains(text) {
            assert!(Instant::now() < deadline, "{key} never brought {text:?}");
            self.keys(&[key]);
            let settle = Instant::now() + Duration::from_millis(400);
            while Instant::now() < settle && !self.screen().contains(text) {
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }
    }

    fn has_session(&self) -> bool {
        self.run(&["has-session", "-t", "chat"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen.lines().find(|l| l.contains(text)).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_shows_what_the_spec_asks_for() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let phone_state = temp.path().join("phone");
    let web_state = temp.path().join("web");
    let relay = Relay::start().await;
    ok(&phone(&phone_state, &["init", "--name", "Ada"]).await);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;
    pair_web(&web_state, &relay.url, &phone_state, "Terminal", true).await;
    // More messages than a snapshot carries (20), so that history loads.
    for i in 1..=22 {
        let text = format!("old message {i}");
        ok(&phone(&phone_state, &["inject", "--from", "Ada Lovelace", &text]).await);
    }

    let tmux = Tmux {
        socket: format!("tandem-web-test-{}", std::process::id()),
    };
    let command = format!("{} --state {} chat", WEB, web_state.to_str().unwrap());
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "chat",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");

    // The chat list, most recent first, with unread counts.
    let screen = tmux.shows("Chats (3)").await;
    assert!(screen.contains("● phone online"), "{screen}");
    let ada = line_with(&screen, "Ada Lovelace");
    assert!(ada.contains("▶") && ada.contains("(23 unread)"), "{screen}");

    // History on scroll, down to the marker.
    tmux.keys(&["Enter"]);
    tmux.shows("old message 22").await;
    tmux.press_until("PageUp", "— no older messages —").await;
    let screen = tmux.shows("Welcome to Tandem").await;
    assert!(screen.contains("old message 1 "), "{screen}");

    // Opening it marked it read.
    tmux.keys(&["Escape"]);
    tmux.wait("Ada Lovelace read", |s| {
        s.contains("Chats (3)") && !line_with(s, "Ada Lovelace").contains("unread")
    })
    .await;

    // A message to Echo: status marks, typing, the answer.
    tmux.keys(&["Down", "Enter"]);
    tmux.shows("┌ Echo ").await;
    tmux.type_text("hello from tmux");
    tmux.keys(&["Enter"]);
    tmux.shows("you: hello from tmux  ✓").await;
    tmux.shows("Echo is typing…").await;
    let screen = tmux.shows("Echo: echo: hello from tmux").await;
    assert!(
        line_with(&screen, "you: hello from tmux").contains("✓✓ read"),
        "{screen}"
    );

    // The phone goes away: the banner, and a send shown as pending.
    serving.kill().await;
    tmux.shows("Phone not connected").await;
    tmux.shows("○ phone offline").await;
    tmux.type_text("typed while away");
    tmux.keys(&["Enter"]);
    tmux.shows("you: typed while away  … pending").await;
    let queue = std::fs::read_to_string(web_state.join("queue.json")).unwrap();
    assert!(queue.contains("typed while away"));

    // It comes back: the banner goes, the send is delivered, once.
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;
    let screen = tmux.shows("Echo: echo: typed while away").await;
    assert!(!screen.contains("Phone not connected"), "{screen}");
    assert!(!screen.contains("pending"), "{screen}");
    assert_eq!(screen.matches("you: typed while away").count(), 1);

    // Ctrl-C quits and leaves the queue empty.
    tmux.keys(&["C-c"]);
    let deadline = Instant::now() + WAIT;
    while tmux.has_session() {
        assert!(Instant::now() < deadline, "chat did not quit");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(!Path::new(&web_state.join("queue.json")).exists());
    serving.kill().await;
}
