//! The `tandem-web` command line (clap): `pair`, the script commands, `chat`
//! and `demo` (issue 8; spec §4, §7, §8, §9.4), with exit codes that tell a
//! queued send from an unlinked device.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::commands::{self, SendOutcome, UploadOptions};
use crate::console::Console;
use crate::error::{EXIT_PHONE_OFFLINE, WebError};
use crate::pair::{PairOptions, pair, plain};
use crate::session::{Session, SessionOptions};
use crate::state::StateDir;

const EXAMPLES: &str = "\
Examples:
  tandem-web pair --relay ws://127.0.0.1:8080 --name 'Laptop' --qr-png code.png
  tandem-web --ca private-ca.pem pair --relay wss://relay.example --name 'Laptop'
  tandem-web chats
  tandem-web history Echo --json
  tandem-web send Echo 'Hello!'
  tandem-web upload Echo ./photo.png --caption 'look'
  tandem-web download 3f2a...e9 -o photo.png
  tandem-web watch
  tandem-web chat
  tandem-web unlink
  tandem-web demo                 # relay, phone and companion in one process
  tandem-web --state DIR adapter --relay URL   # for tandem-conformance (spec §12.5)

Exit status: 0 done; 1 failed; 2 bad usage; 3 the phone is not connected
(a `send` is then queued in the state folder and goes out at the next
connection); 4 not linked (never paired, or unlinked or revoked).";

const ADAPTER_HELP: &str = "\
The conformance runner's command template (spec §12.5.1):
  tandem-web --state {state_dir} adapter --relay {relay_url}
for example:
  tandem-conformance companion --cmd \"tandem-web --state {state_dir} adapter --relay {relay_url}\"

Requests (one per line): capabilities, show-qr, send <chat_id> <text>,
read <chat_id>, history <chat_id>, send-file <chat_id> <path>,
fetch <media_id> <path>, received, unlink, status, restart, quit.
Events: qr, check_code, linked, pairing_failed, unlinked, peer, message,
send_result, closed. A linked state folder reconnects at start. Logs go to
stderr (RUST_LOG). Exit status 0 after quit, restart or the end of stdin;
1 when the state folder cannot be used.";

/// The Tandem reference web companion, in the terminal: links to a phone by
/// QR code, then reads and sends messages while the phone keeps them.
#[derive(Debug, Parser)]
#[command(name = "tandem-web", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The companion's state folder (its keys and queued sends).
    #[arg(
        long,
        global = true,
        env = "TANDEM_WEB_STATE",
        default_value = "./tandem-web-state",
        value_name = "DIR"
    )]
    pub state: PathBuf,
    /// How long to wait for the relay and the phone (`20s`, `500ms`, `2m`).
    #[arg(long, global = true, default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Also trust the CA certificates in this PEM file for a wss:// relay
    /// (a private relay's CA; the webpki roots are always trusted).
    #[arg(long, global = true, env = "TANDEM_WEB_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Link this companion to a phone: show a QR code, wait for the phone.
    #[command(
        after_help = "Example:\n  tandem-web --state ./web pair --relay ws://127.0.0.1:8080 \
                            --name Laptop --qr-png code.png\n\nThe payload is also printed \
                            on a line of its own, `QR TANDEM:...`, for scripts."
    )]
    Pair {
        /// The relay's URL, put in the QR code.
        #[arg(long, value_name = "URL")]
        relay: String,
        /// This device's name, shown on the phone.
        #[arg(long, default_value = "Tandem web")]
        name: String,
        /// Also write each code as a PNG image.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
        /// Also write each code as an SVG image.
        #[arg(long, value_name = "FILE")]
        qr_svg: Option<PathBuf>,
        /// Do not draw the code in the terminal.
        #[arg(long)]
        no_terminal_qr: bool,
        /// Choose a plain ws:// relay off this machine anyway: messages stay
        /// encrypted, but who pairs and talks with whom is visible on the
        /// way (spec [TRN-12]).
        #[arg(long)]
        allow_plain_ws: bool,
    },
    /// List the chats, most recent first.
    Chats {
        /// JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Show a chat's newest messages (older ones are fetched from the phone).
    #[command(after_help = "Example:\n  tandem-web history Echo --limit 100 --json")]
    History {
        /// The chat's id, title, or a unique start of its title.
        chat: String,
        /// How many of the newest messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Send a text message; waits for the phone to store it.
    #[command(after_help = "Examples:\n  tandem-web send Echo 'Hello!'\n  \
                            tandem-web send 3 'queued if the phone is away' --wait 1m")]
    Send {
        /// The chat's id, title, or a unique start of its title (the id works
        /// while the phone is away).
        chat: String,
        /// The text.
        text: String,
        /// How long to wait for an absent phone before leaving the message
        /// queued.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        wait: Duration,
    },
    /// Upload a file to the phone and send it to a chat.
    #[command(after_help = "Example:\n  tandem-web upload Echo ./photo.png --caption 'look'")]
    Upload {
        /// The chat's id, title, or a unique start of its title.
        chat: String,
        /// The file.
        file: PathBuf,
        /// A caption.
        #[arg(long, default_value = "")]
        caption: String,
        /// The MIME type (guessed from the name otherwise).
        #[arg(long)]
        mime: Option<String>,
    },
    /// Download a file from the phone by its media id; checked by hash.
    #[command(
        after_help = "Example:\n  tandem-web download 3f2a...e9 -o photo.png\n\n\
                            Media ids are shown by `history` (64 hex digits)."
    )]
    Download {
        /// The media id (64 hex digits).
        media: String,
        /// Where to write it.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print live events, one per line, until interrupted.
    Watch {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Log out: unlink from the phone and wipe this device's state.
    Unlink,
    /// What this state folder holds (no connection).
    Status,
    /// The interactive client: chat list, conversation, live updates.
    #[command(
        after_help = "Keys: Up/Down choose a chat, Enter opens it, type and Enter to \
                            send, PageUp loads older messages, Esc goes back, Ctrl-C quits."
    )]
    Chat,
    /// The endpoint adapter of spec §12.5 for the conformance runner:
    /// requests on stdin, responses and events on stdout, one line each.
    #[command(after_help = ADAPTER_HELP)]
    Adapter {
        /// The runner's relay: put in the QR code and connected to.
        #[arg(long, value_name = "URL")]
        relay: String,
        /// This device's name, shown on the phone.
        #[arg(long, default_value = "Tandem web")]
        name: String,
        /// Show a code for a plain ws:// relay off this machine.
        #[arg(long)]
        allow_plain_ws: bool,
        /// Switch on a deliberate bug, by name (repeatable): for the
        /// conformance runner's self-test only.
        #[cfg(feature = "faults")]
        #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
        faults: Vec<tandem_proto::faults::Fault>,
    },
    /// Relay, phone and this companion in one process: every flow, then a
    /// summary. Exits by itself.
    Demo {
        /// The size of the file uploaded and downloaded, in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        file_size: usize,
        /// Do not draw the QR code in the terminal.
        #[arg(long)]
        no_terminal_qr: bool,
    },
}

pub use tandem_client::parse_duration;

/// Runs the command line; the binary's whole `main`.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// Runs the command line `args` (the program name first), as `main` does
/// with the process's arguments: for a host binary that embeds this one,
/// such as the conformance runner's reference adapters.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // No colour codes in a log a program keeps (the conformance
        // runner's report, spec §12.4).
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tandem-web: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Nothing left running may hold the exit up (the adapter exits within
    // 10 s of `quit`, spec §12.5.5).
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tandem-web: {err}");
            err.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, WebError> {
    let state = StateDir::new(&cli.state);
    let console = Console::stdout();
    let timeout = cli.timeout;
    let options = SessionOptions {
        connect_url: None,
        timeout,
        ca: cli.ca.clone(),
        faults: Default::default(),
    };
    match cli.command {
        Command::Pair {
            relay,
            name,
            qr_png,
            qr_svg,
            no_terminal_qr,
            allow_plain_ws,
        } => {
            let options = PairOptions {
                relay_url: relay,
                connect_url: None,
                device_name: name,
                qr_png,
                qr_svg,
                terminal_qr: !no_terminal_qr,
                allow_plain_ws,
                ca: cli.ca.clone(),
            };
            pair(&state, &options, &console, |_| {}).await?;
        }
        Command::Chats { json } => {
            with_session(&state, &options, async |s| {
                commands::chats(s, &console, json, timeout).await
            })
            .await?;
        }
        Command::History { chat, limit, json } => {
            with_session(&state, &options, async |s| {
                commands::history(s, &console, &chat, limit, json, timeout).await
            })
            .await?;
        }
        Command::Send { chat, text, wait } => {
            let outcome = with_session(&state, &options, async |s| {
                commands::send(s, &console, &chat, &text, wait, timeout).await
            })
            .await?;
            return Ok(report_send(&console, &state, &outcome));
        }
        Command::Upload {
            chat,
            file,
            caption,
            mime,
        } => {
            let upload = UploadOptions { caption, mime };
            let uploaded = with_session(&state, &options, async |s| {
                commands::upload(s, &console, &chat, &file, &upload, timeout).await
            })
            .await?;
            return Ok(report_send(&console, &state, &uploaded.sent));
        }
        Command::Download { media, output } => {
            with_session(&state, &options, async |s| {
                commands::download(s, &console, &media, &output, timeout).await
            })
            .await?;
        }
        Command::Watch { json } => {
            with_session(&state, &options, async |s| {
                commands::watch(s, &console, json, tokio::signal::ctrl_c()).await
            })
            .await?;
        }
        Command::Unlink => {
            with_session(&state, &options, async |s| {
                commands::unlink(s, &console, timeout).await
            })
            .await?;
        }
        Command::Adapter {
            relay,
            name,
            allow_plain_ws,
            #[cfg(feature = "faults")]
            faults,
        } => {
            let options = crate::adapter::AdapterOptions {
                relay_url: relay,
                device_name: name,
                allow_plain_ws,
                timeout,
                ca: cli.ca.clone(),
                #[cfg(feature = "faults")]
                faults: faults.into_iter().collect(),
                #[cfg(not(feature = "faults"))]
                faults: Default::default(),
            };
            return crate::adapter::run(&state, options).await;
        }
        Command::Status => status(&state, &console)?,
        Command::Chat => crate::tui::run(&state, &options).await?,
        Command::Demo {
            file_size,
            no_terminal_qr,
        } => {
            let options = crate::demo::DemoOptions {
                file_size,
                terminal_qr: !no_terminal_qr,
            };
            crate::demo::run(&options).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens a session, runs `f`, then lets queued sends go out (briefly) and
/// closes it, writing the final queue.
async fn with_session<T>(
    state: &StateDir,
    options: &SessionOptions,
    f: impl AsyncFnOnce(&mut Session) -> Result<T, WebError>,
) -> Result<T, WebError> {
    let mut session = Session::open(state, options)?;
    let result = f(&mut session).await;
    if result.is_ok() {
        // Sends queued earlier were resent after the resume: give them a
        // moment to be answered so that the queue empties.
        let _ = session.settle(Duration::from_secs(5)).await;
    }
    let closed = session.close().await;
    let value = result?;
    closed?;
    Ok(value)
}

fn report_send(console: &Console, state: &StateDir, outcome: &SendOutcome) -> ExitCode {
    match outcome {
        SendOutcome::Delivered {
            chat_id,
            message_id,
        } => {
            console.line(format!("Sent: message {message_id} in chat {chat_id}."));
            ExitCode::SUCCESS
        }
        SendOutcome::Queued { queued, why } => {
            console.line(format!(
                "Not delivered yet: {why}. The message is queued in {} ({queued} queued) and \
                 goes out, once, the next time tandem-web connects while the phone is online.",
                state.queue_path().display()
            ));
            ExitCode::from(EXIT_PHONE_OFFLINE)
        }
    }
}

fn status(state: &StateDir, console: &Console) -> Result<(), WebError> {
    let link = state.require_link()?;
    let queued = state.queue()?.len();
    console.line(format!(
        "Linked to {} (phone \"{}\") through {}.",
        plain(&link.credentials.account_name),
        plain(&link.primary_device),
        link.relay_url
    ));
    console.line(format!(
        "This device: \"{}\", id {}.",
        link.device_name,
        link.device_id()
    ));
    console.line(format!("Queued sends: {queued}."));
    Ok(())
}

/// A companion fault by name (`adapter --fault`).
#[cfg(feature = "faults")]
fn parse_fault(name: &str) -> Result<tandem_proto::faults::Fault, String> {
    use tandem_proto::faults::{Fault, FaultRole};
    Fault::for_role(name, FaultRole::Companion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("1h").is_err());
    }
}
