//! `demo`: relay, phone and companion in one process on loopback, the companion
//! running the same functions as the commands: pairing from the QR image (§4),
//! sync (§7.3), Echo (§7.6), a file (§8), a cut connection and resume (§5.4, §7.2).

mod flows;
mod outage;
mod pairing;
mod proxy;
mod stack;
mod summary;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tandem_proto::companion::Cache;
use tokio::time::Instant as TokioInstant;

pub use summary::{Check, Summary};

use crate::commands;
use crate::commands::watch_line;
use crate::console::Console;
use crate::error::WebError;
use crate::session::{Event, Session, SessionOptions};
use crate::state::StateDir;

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Bytes in the file uploaded and downloaded.
    pub file_size: usize,
    /// Draw the QR code in the terminal.
    pub terminal_qr: bool,
}

/// What every step needs.
pub struct Demo {
    /// The demo's own lines.
    pub narrator: Console,
    /// The companion's lines.
    pub web: Console,
    /// The phone's lines.
    pub phone: Console,
    /// The temporary folder everything lives in.
    pub dir: PathBuf,
    /// The relay's URL (in the QR code; the phone's connection).
    pub relay_url: String,
    /// The proxy's URL (the companion's connection).
    pub proxy_url: String,
    /// How long any wait may take.
    pub timeout: Duration,
    /// Draw the QR code in the terminal.
    pub terminal_qr: bool,
}

/// Runs the demo; fails if any of its checks failed.
pub async fn run(options: &DemoOptions) -> Result<Summary, WebError> {
    let started = Instant::now();
    let temp = tempfile::Builder::new()
        .prefix("tandem-demo-")
        .tempdir()
        .map_err(WebError::io(std::env::temp_dir()))?;
    let narrator = Console::stdout();
    narrator
        .line("Tandem demo: a relay, a phone and a web companion in this process, on loopback.");
    narrator.line(format!(
        "Lines from the phone start with \"phone │\", from the companion with \"web   │\". \
         Everything lives in {} and is deleted at the end.",
        temp.path().display()
    ));

    step(&narrator, 1, "Start the relay and the phone");
    let relay = stack::Relay::start().await?;
    narrator.line(format!("Relay listening on {}.", relay.url));
    let proxy = proxy::Proxy::start(relay.address).await?;
    let demo = Demo {
        narrator: narrator.clone(),
        web: Console::with_prefix("web   │ "),
        phone: Console::with_prefix("phone │ "),
        dir: temp.path().to_owned(),
        relay_url: relay.url.clone(),
        proxy_url: proxy.url.clone(),
        timeout: Duration::from_secs(20),
        terminal_qr: options.terminal_qr,
    };
    let mut phone = stack::Phone::start(&temp.path().join("phone"), &relay.url, &demo.phone)?;
    phone.wait_line("route registered", demo.timeout).await?;
    let mut summary = Summary::default();

    step(
        &narrator,
        2,
        "Pair: the companion shows a QR code, the phone scans it",
    );
    let web_state = StateDir::new(temp.path().join("web"));
    pairing::pair_with_phone(&demo, &web_state, &phone, &mut summary).await?;
    summary.check(
        &narrator,
        owner_only(&web_state)?,
        "the companion stored its keys owner-only (folder 0700, file 0600)",
    );

    step(&narrator, 3, "Connect on the phone's route and sync");
    let session_options = SessionOptions {
        connect_url: Some(demo.proxy_url.clone()),
        timeout: demo.timeout,
        ca: None,
        faults: Default::default(),
    };
    let mut session = Session::open(&web_state, &session_options)?;
    commands::chats(&mut session, &demo.web, false, demo.timeout).await?;
    let cache = session.cache().await?;
    summary.check(
        &narrator,
        cache.chats.len() >= 3 && !cache.messages.is_empty(),
        format!(
            "first sync: {}, {}, {}, at event {}",
            count(cache.chats.len(), "chat"),
            count(cache.contacts.len(), "contact"),
            count(cache.messages.len(), "message"),
            cache.seq
        ),
    );

    step(&narrator, 4, "A message to the echo contact");
    flows::echo_round(&demo, &mut session, &mut summary).await?;

    step(
        &narrator,
        5,
        "A file: upload, then download checked by hash",
    );
    flows::media_round(&demo, &mut session, options.file_size, &mut summary).await?;

    step(&narrator, 6, "The connection is lost while messages flow");
    outage::run(&demo, &mut session, &proxy, &phone, &mut summary).await?;

    step(&narrator, 7, "Summary");
    session.close().await?;
    phone.stop().await?;
    relay.stop().await;
    summary.print(&narrator);
    narrator.line(format!(
        "Finished in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    if summary.passed() {
        Ok(summary)
    } else {
        Err(WebError::Invalid(
            "the demo found a problem (see above)".into(),
        ))
    }
}

/// `1 message`, `3 chats`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn step(console: &Console, number: u32, title: &str) {
    console.line("");
    console.line(format!("── {number}. {title} ──"));
}

/// Prints the companion's events as `watch` would, until `done` says so.
pub(crate) async fn follow(
    demo: &Demo,
    session: &mut Session,
    mut done: impl FnMut(&Cache, &Event) -> bool,
) -> Result<(), WebError> {
    let deadline = TokioInstant::now() + demo.timeout;
    loop {
        let Some(event) = session.next_until(deadline).await? else {
            return Err(WebError::Timeout(format!(
                "the demo waited {} s for the phone",
                demo.timeout.as_secs()
            )));
        };
        let cache = session.cache().await?;
        if let Some(line) = watch_line(&cache, &event, false) {
            demo.web.line(line);
        }
        if done(&cache, &event) {
            return Ok(());
        }
    }
}

fn owner_only(state: &StateDir) -> Result<bool, WebError> {
    let mode = |path: &Path| -> Result<u32, WebError> {
        Ok(std::fs::metadata(path)
            .map_err(WebError::io(path))?
            .permissions()
            .mode()
            & 0o777)
    };
    Ok(mode(state.dir())? == 0o700 && mode(&state.link_path())? == 0o600)
}
