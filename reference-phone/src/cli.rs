//! The `tandem-phone` command line (clap): `init`, `link`, `serve`,
//! `devices`, `revoke`, `inject`, `chats`, `messages`, each with
//! `--state DIR`, and `--json` on the listings (issue 7; spec §4, §7, §9),
//! and `adapter`, the conformance adapter (§12.5).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::commands::{self, CommandError, InjectOutcome, LinkPrompt};
use crate::display::{plain, utc};
use crate::serve::{ServeOptions, SimulationConfig};
use crate::state::State;
use crate::store::Account;

/// Prints a line to stdout; a closed stdout (a pipe whose reader left) is
/// not worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

const ADAPTER_HELP: &str = "\
Command template for the conformance runner (spec 12.5.1):
  tandem-phone --state {state_dir} adapter --relay {relay_url}
or, to have the runner link by starting the phone with the QR text:
  tandem-phone --state {state_dir} adapter --relay {relay_url} --qr {qr_payload}

Requests come one per line on standard input, responses and events go to
standard output, logs to standard error. An empty state folder gets a new
phone (account \"Conformance\", no contacts); the simulated network is
quiet: no echo, no ticker, statuses do not move. The process exits with
status 0 after `quit`, `restart` or the end of standard input, and 1 when
the phone cannot serve.";

const EXAMPLES: &str = "\
Examples:
  tandem-phone init --name Ada
  tandem-phone serve --relay ws://127.0.0.1:8080
  tandem-phone serve --relay wss://relay.example --ca private-ca.pem
  tandem-phone link 'TANDEM:AEA...'          # or: link --qr-png code.png
  tandem-phone devices
  tandem-phone revoke '300c 9c96 03b9 2a4b'
  tandem-phone inject --from Ada 'Are you there?'
  tandem-phone chats
  tandem-phone messages Echo --json

Commands that change things reach a running `serve` through the control
socket in the state folder, so a connected companion learns at once.";

/// The Tandem reference phone: owns the account and its message store,
/// links companions by QR code and serves them through a relay.
#[derive(Debug, Parser)]
#[command(name = "tandem-phone", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The phone's state folder (keys, database, media).
    #[arg(
        long,
        global = true,
        env = "TANDEM_PHONE_STATE",
        default_value = "./tandem-phone-state",
        value_name = "DIR"
    )]
    pub state: PathBuf,
    /// Also trust the CA certificates in this PEM file for a wss:// relay
    /// (a private relay's CA; the webpki roots are always trusted).
    #[arg(long, global = true, env = "TANDEM_PHONE_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the account: a new key, an empty store and seeded contacts.
    #[command(after_help = "Example:\n  tandem-phone --state ./phone init --name Ada")]
    Init {
        /// The account's name, shown to companions when they pair.
        #[arg(long)]
        name: String,
        /// This phone's device name.
        #[arg(long, default_value = "Tandem phone")]
        device_name: String,
        /// Start without the simulated contacts (Echo, Clock, Ada Lovelace).
        #[arg(long)]
        no_contacts: bool,
    },
    /// Link a companion from its QR code text or a PNG image of it.
    #[command(after_help = "Examples:\n  tandem-phone link 'TANDEM:AEAA...'\n  \
                            tandem-phone link --qr-png code.png --yes")]
    Link {
        /// The QR code's text, `TANDEM:...`.
        #[arg(required_unless_present = "qr_png", conflicts_with = "qr_png")]
        payload: Option<String>,
        /// A PNG image of the QR code, read as a camera would.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
        /// Confirm without asking (scripts); the check code is still shown.
        #[arg(long)]
        yes: bool,
        /// Accept a code that names a plain ws:// relay off this machine.
        #[arg(long)]
        allow_plain_ws: bool,
    },
    /// Serve companions through a relay until interrupted.
    #[command(
        after_help = "Example:\n  tandem-phone serve --relay ws://127.0.0.1:8080 --tick-every 10s"
    )]
    Serve {
        /// The relay's URL.
        #[arg(long, value_name = "URL")]
        relay: String,
        /// The contact that answers every message ("" for none).
        #[arg(long, default_value = "Echo", value_name = "NAME")]
        echo: String,
        /// The contact that writes on a timer ("" for none).
        #[arg(long, default_value = "Clock", value_name = "NAME")]
        ticker: String,
        /// The ticker's period (`30s`, `500ms`, `2m`; `0` stops it).
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        tick_every: Duration,
        /// From sent to delivered, for every message a companion sends.
        #[arg(long, default_value = "800ms", value_parser = parse_duration)]
        delivered_after: Duration,
        /// From sent to read.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        read_after: Duration,
    },
    /// Serve through a relay driven by the conformance runner's line
    /// protocol (the endpoint adapter of spec §12.5, primary role).
    #[command(after_help = ADAPTER_HELP)]
    Adapter {
        /// The relay's URL (`{relay_url}`).
        #[arg(long, value_name = "URL")]
        relay: String,
        /// A QR text to scan at start (`{qr_payload}`); empty for none.
        #[arg(long, value_name = "TEXT")]
        qr: Option<String>,
        /// The account name of a phone created in an empty state folder.
        #[arg(long, default_value = crate::adapter::ACCOUNT_NAME)]
        name: String,
        /// Switch on a deliberate bug, by name (repeatable): for the
        /// conformance runner's self-test only.
        #[cfg(feature = "faults")]
        #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
        faults: Vec<tandem_proto::faults::Fault>,
    },
    /// List the linked companions.
    Devices {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a linked companion by its device id (see `devices`).
    #[command(after_help = "Example:\n  tandem-phone revoke '300c 9c96 03b9 2a4b'")]
    Revoke {
        /// The device id, or a unique prefix of at least four digits.
        device: String,
    },
    /// A message arriving from a contact, delivered live while serving.
    #[command(after_help = "Example:\n  tandem-phone inject --from Ada 'Lunch at one?'")]
    Inject {
        /// The contact's name or id.
        #[arg(long, value_name = "CONTACT")]
        from: String,
        /// The text.
        text: String,
    },
    /// List the chats.
    Chats {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the newest messages of a chat (by id or title).
    Messages {
        /// The chat's id or title.
        chat: String,
        /// How many of the newest messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON instead of lines.
        #[arg(long)]
        json: bool,
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
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tandem-phone: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Nothing may hold the exit up (the adapter must exit within 10 s of
    // `quit`, spec §12.5.5).
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tandem-phone: {err}");
            ExitCode::FAILURE
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<(), CommandError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| CommandError::Invalid(err.to_string()))?;
    out!("{text}");
    Ok(())
}

fn name_or_none(name: String) -> Option<String> {
    (!name.trim().is_empty()).then_some(name)
}

async fn run(cli: Cli) -> Result<(), CommandError> {
    let state = State::new(cli.state);
    let ca = cli.ca;
    match cli.command {
        Command::Init {
            name,
            device_name,
            no_contacts,
        } => {
            let account = Account { name, device_name };
            let outcome = commands::init(&state, &account, !no_contacts)?;
            out!("Created the account in {}", state.dir().display());
            out!("Primary key: {}", outcome.primary_key);
            if !outcome.contacts.is_empty() {
                out!("Contacts: {}", outcome.contacts.join(", "));
            }
        }
        Command::Link {
            payload,
            qr_png,
            yes,
            allow_plain_ws,
        } => {
            let text = match (payload, qr_png) {
                (Some(text), _) => text,
                (None, Some(path)) => crate::qr_image::read_qr_png(&path)?,
                (None, None) => {
                    return Err(CommandError::Invalid("give a payload or --qr-png".into()));
                }
            };
            let outcome = commands::link_with_ca(
                &state,
                &text,
                allow_plain_ws,
                ca.as_deref(),
                async |prompt: &LinkPrompt| ask(prompt, yes).await,
            )
            .await?;
            out!(
                "Linked {} (device {}).",
                outcome.device_name,
                outcome.device_id
            );
        }
        Command::Serve {
            relay,
            echo,
            ticker,
            tick_every,
            delivered_after,
            read_after,
        } => {
            let mut options = ServeOptions::new(relay);
            options.ca = ca;
            options.simulation = SimulationConfig {
                echo_contact: name_or_none(echo),
                ticker_contact: name_or_none(ticker),
                tick_every: (!tick_every.is_zero()).then_some(tick_every),
                delivered_after,
                read_after,
                ..SimulationConfig::default()
            };
            crate::serve::run(&state, options, shutdown_signal(), |line| out!("{line}"))
                .await
                .map_err(|err| CommandError::Invalid(err.to_string()))?;
        }
        Command::Adapter {
            relay,
            qr,
            name,
            #[cfg(feature = "faults")]
            faults,
        } => {
            let options = crate::adapter::AdapterOptions {
                relay,
                qr,
                account_name: name,
                ca,
                #[cfg(feature = "faults")]
                faults: faults.into_iter().collect(),
                #[cfg(not(feature = "faults"))]
                faults: Default::default(),
            };
            crate::adapter::run(&state, options, shutdown_signal())
                .await
                .map_err(|err| CommandError::Invalid(err.to_string()))?;
        }
        Command::Devices { json: as_json } => {
            let rows = commands::devices(&state).await?;
            if as_json {
                return json(&rows);
            }
            if rows.is_empty() {
                out!("No linked companions.");
            }
            for row in rows {
                let seen = if row.connected {
                    "connected now".to_owned()
                } else {
                    format!("last seen {}", utc(row.last_seen_ms))
                };
                out!(
                    "{}  {}  linked {}  {seen}",
                    row.device_id,
                    row.name,
                    utc(row.linked_at_ms)
                );
            }
        }
        Command::Revoke { device } => {
            let outcome = commands::revoke(&state, &device).await?;
            let told = if outcome.was_connected {
                " It was connected and has been told."
            } else {
                ""
            };
            out!("Revoked {}.{told}", outcome.device_id);
        }
        Command::Inject { from, text } => match commands::inject(&state, &from, &text).await? {
            InjectOutcome::Delivered => out!("Delivered to the running phone."),
            InjectOutcome::Stored { message_id } => out!("Stored as message {message_id}."),
            InjectOutcome::Queued => out!("Queued; the phone applies it when it serves."),
        },
        Command::Chats { json: as_json } => {
            let rows = commands::chats(&state)?;
            if as_json {
                return json(&rows);
            }
            for row in rows {
                out!(
                    "{:>4}  {:<20} {:>3} unread  {}",
                    row.chat_id,
                    plain(&row.title),
                    row.unread,
                    row.preview.as_deref().map(plain).unwrap_or_default()
                );
            }
        }
        Command::Messages {
            chat,
            limit,
            json: as_json,
        } => {
            let rows = commands::messages(&state, &chat, limit)?;
            if as_json {
                return json(&rows);
            }
            for row in rows {
                out!(
                    "{:>6}  {}  {:<12} {:<9} {}",
                    row.message_id,
                    utc(row.timestamp_ms),
                    plain(&row.from),
                    row.status,
                    plain(&row.text)
                );
            }
        }
    }
    Ok(())
}

/// Shows the name and check code and asks ([PAIR-04]); `--yes` accepts.
async fn ask(prompt: &LinkPrompt, yes: bool) -> bool {
    out!(
        "Link \"{}\" (device {})?\nCheck code: {}  (it must match the code the companion shows)",
        prompt.device_name,
        prompt.device_id,
        prompt.check_code
    );
    if yes {
        out!("Confirmed (--yes).");
        return true;
    }
    {
        use std::io::Write;
        let mut stdout = std::io::stdout();
        let _ = write!(stdout, "Confirm? [y/N] ");
        let _ = stdout.flush();
    }
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}

/// A primary fault by name (`adapter --fault`).
#[cfg(feature = "faults")]
fn parse_fault(name: &str) -> Result<tandem_proto::faults::Fault, String> {
    use tandem_proto::faults::{Fault, FaultRole};
    Fault::for_role(name, FaultRole::Primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
