//! Web, phone and relay as three processes (issue 8; spec §4, §7.6, §8, §9):
//! messages both ways, a file up and down, each process SIGKILLed and restarted
//! in turn, every message counted on both sides: none lost, none doubled.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn queued(state: &Path) -> usize {
    match std::fs::read(state.join("queue.json")) {
        Ok(bytes) => {
            let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            file["pending"].as_array().unwrap().len()
        }
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_pair_talk_survive_kills_and_lose_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let phone_state = temp.path().join("phone");
    let scripts = temp.path().join("web-scripts");
    let watcher = temp.path().join("web-watcher");

    // The relay and the phone.
    let mut relay = Relay::start().await;
    ok(&phone(&phone_state, &["init", "--name", "Ada"]).await);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;

    // Two companions: one pairs from the PNG image, one from the text.
    pair_web(&scripts, &relay.url, &phone_state, "Loopback scripts", true).await;
    pair_web(
        &watcher,
        &relay.url,
        &phone_state,
        "Loopback watcher",
        false,
    )
    .await;
    assert_eq!(mode(&scripts), 0o700);
    assert_eq!(mode(&scripts.join("link.json")), 0o600);
    let devices = ok(&phone(&phone_state, &["devices"]).await);
    assert!(devices.contains("Loopback scripts") && devices.contains("Loopback watcher"));

    // First sync.
    let chats = json(&web(&scripts, &["chats", "--json"]).await);
    let id_of = |title: &str| {
        chats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == title)
            .unwrap()["chat_id"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    let echo = id_of("Echo");
    let mut watching = watch(&watcher);
    watching.wait_line("synced at event").await;

    // Web to phone, live on the other companion, and Echo's answer.
    assert!(ok(&web(&scripts, &["send", "Echo", "hello 1"]).await).contains("Sent: message"));
    watching.wait_line("you: hello 1").await;
    watching.wait_line("echo: hello 1").await;
    // Phone to web.
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "from the phone 1"],
    )
    .await);
    watching.wait_line("Ada Lovelace: from the phone 1").await;

    // A file up and back down, checked by hash.
    let file = temp.path().join("picture.bin");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let uploaded = ok(&web(&scripts, &["upload", "Echo", file.to_str().unwrap()]).await);
    let media = uploaded
        .split("as media ")
        .nth(1)
        .unwrap()
        .chars()
        .take(64)
        .collect::<String>();
    watching.wait_line("[file picture.bin").await;
    let copy = temp.path().join("copy.bin");
    ok(&web(
        &scripts,
        &["download", &media, "-o", copy.to_str().unwrap()],
    )
    .await);
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);

    // 1. The phone dies. Sends queue in the state folder, even across a
    // companion killed while it waits; the phone stores what arrives.
    serving.kill().await;
    watching.wait_line("phone: not connected").await;
    let offline = web(&scripts, &["send", &echo, "sent while the phone was down"]).await;
    assert_eq!(offline.status.code(), Some(3), "{}", stdout(&offline));
    assert!(stdout(&offline).contains("queued"));
    assert_eq!(queued(&scripts), 1);
    let mut waiting = Proc::spawn(
        "send --wait",
        Path::new(WEB),
        &[
            "--state",
            scripts.to_str().unwrap(),
            "send",
            &echo,
            "queued, then the companion was killed",
            "--wait",
            "60s",
        ],
    );
    waiting.wait_line("waiting up to 60 s").await;
    waiting.kill().await;
    assert_eq!(queued(&scripts), 2);
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "from the phone 2"],
    )
    .await);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;
    watching.wait_line("Ada Lovelace: from the phone 2").await;
    // Any command resumes and sends the queue, once.
    ok(&web(&scripts, &["chats"]).await);
    assert_eq!(queued(&scripts), 0);
    watching
        .wait_line("you: sent while the phone was down")
        .await;
    watching
        .wait_line("you: queued, then the companion was killed")
        .await;

    // 2. A companion dies; what happens meanwhile reaches it after restart.
    watching.kill().await;
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "from the phone 3"],
    )
    .await);
    let mut watching = watch(&watcher);
    watching.wait_line("synced at event").await;

    // 3. The relay dies and comes back on the same port; both reconnect.
    relay.kill().await;
    watching.wait_line("relay: disconnected").await;
    relay.restart().await;
    serving.wait_line("route registered").await;
    watching.wait_line("synced at event").await;
    ok(&web(&scripts, &["send", "Echo", "after the relay restart"]).await);
    watching.wait_line("echo: after the relay restart").await;
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "from the phone 4"],
    )
    .await);
    watching.wait_line("Ada Lovelace: from the phone 4").await;
    watching.kill().await;

    // Count everything, on the phone and on both companions.
    let sent = [
        "hello 1",
        "sent while the phone was down",
        "queued, then the companion was killed",
        "after the relay restart",
    ];
    let received: Vec<String> = (1..=4).map(|i| format!("from the phone {i}")).collect();
    let on_phone = text_counts(&json(
        &phone(
            &phone_state,
            &["messages", "Echo", "--limit", "500", "--json"],
        )
        .await,
    ));
    let on_phone_ada = text_counts(&json(
        &phone(
            &phone_state,
            &["messages", "Ada Lovelace", "--limit", "500", "--json"],
        )
        .await,
    ));
    for state in [&scripts, &watcher] {
        let echo_here = text_counts(&json(
            &web(state, &["history", "Echo", "--limit", "100", "--json"]).await,
        ));
        let ada_here = text_counts(&json(
            &web(
                state,
                &["history", "Ada Lovelace", "--limit", "100", "--json"],
            )
            .await,
        ));
        for text in sent {
            assert_eq!(on_phone.get(text), Some(&1), "{text:?} on the phone");
            assert_eq!(echo_here.get(text), Some(&1), "{text:?} on {state:?}");
            let reply = format!("echo: {text}");
            assert_eq!(on_phone.get(&reply), Some(&1), "{reply:?} on the phone");
            assert_eq!(echo_here.get(&reply), Some(&1), "{reply:?} on {state:?}");
        }
        for text in &received {
            assert_eq!(on_phone_ada.get(text), Some(&1), "{text:?} on the phone");
            assert_eq!(ada_here.get(text), Some(&1), "{text:?} on {state:?}");
        }
    }

    // Unlinking wipes the companion and the phone confirms; a revoked one
    // is told why and wiped at its next connection.
    let unlinked = ok(&web(&watcher, &["unlink"]).await);
    assert!(unlinked.contains("the phone confirmed"), "{unlinked}");
    assert!(!watcher.join("link.json").exists());
    let devices = ok(&phone(&phone_state, &["devices"]).await);
    assert!(!devices.contains("Loopback watcher"), "{devices}");
    let id = ok(&web(&scripts, &["status"]).await)
        .split("id ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    assert!(ok(&phone(&phone_state, &["revoke", &id]).await).contains("Revoked"));
    let revoked = web(&scripts, &["chats"]).await;
    assert_eq!(revoked.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("removed from the phone"));
    assert!(!scripts.join("link.json").exists());

    serving.kill().await;
    relay.kill().await;
}
