//! The command line: one subcommand per measurement, `all` for a bounded
//! run of every one, and the hidden roles this tool re-executes itself as
//! (relay, forwarder, phone, primaries), each in its own process.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples (release builds; loopback only; every run stops by itself):
  cargo run --release -p tandem-load -- all             # every measurement, bounded (minutes)
  cargo run --release -p tandem-load -- all --quick     # tiny counts, seconds
  cargo run --release -p tandem-load -- messages --pairs 1,100,8000
  cargo run --release -p tandem-load -- media --size 100MiB
  cargo run --release -p tandem-load -- first-sync      # builds the 1M-message store once
  cargo run --release -p tandem-load -- idle --pairs 8000

The relay, the raw forwarder and the phones run as child processes (this
binary re-executed with a hidden subcommand), so that no process holds more
than 16,000 sockets and each one's memory is its own /proc/<pid>/status.
Every table gives the Tandem number, the raw baseline measured in the same
run, and Tandem ÷ baseline.";

/// End-to-end load tool for Tandem: real primaries and companions through
/// the real relay, beside raw baselines measured in the same run.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// What to measure.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Options of every measurement.
    #[command(flatten)]
    pub(crate) common: Common,
}

/// Options shared by every measurement.
#[derive(Clone, Debug, Args)]
pub(crate) struct Common {
    /// Runs of each measurement; tables give the median and the range.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub(crate) repeat: u32,
    /// Worker threads of the relay and of the raw forwarder.
    #[arg(long, global = true, default_value_t = 1)]
    pub(crate) server_threads: usize,
    /// Worker threads of this process, which runs the endpoints.
    #[arg(long, global = true, default_value_t = 1)]
    pub(crate) client_threads: usize,
    /// Also print the results as one JSON object (the last line).
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// A measurement, or a hidden role.
#[derive(Clone, Debug, Subcommand)]
pub(crate) enum Command {
    /// Pairings per second through the relay (QR payload to stored link),
    /// beside raw snow IKpsk2 handshakes.
    Pairings(PairingsArgs),
    /// Reconnects per second (connect, handshake, resume with nothing to
    /// replay), beside raw snow IK handshakes.
    Reconnects(ReconnectsArgs),
    /// Messages per second companion → relay → primary → SendAck, with
    /// latency, beside the raw forwarder with an echoed acknowledgement.
    Messages(MessagesArgs),
    /// Media upload and download through the relay, beside the raw
    /// forwarder and raw AEAD.
    Media(MediaArgs),
    /// First sync of a large phone store: time to the first page, bytes on
    /// the wire, the phone's peak memory.
    FirstSync(StoreArgs),
    /// Resume after a connection loss with missed events: time until the
    /// companion is current.
    Resume(ResumeArgs),
    /// Memory per paired idle companion on the relay and on the phone.
    Idle(IdleArgs),
    /// Every measurement, bounded (`--quick`: tiny counts, for CI).
    All(AllArgs),
    /// A relay on 127.0.0.1 (a child of this tool).
    #[command(hide = true)]
    ServeRelay(ServeArgs),
    /// The raw forwarder on 127.0.0.1 (a child of this tool).
    #[command(hide = true)]
    ServeForwarder(ServeArgs),
    /// A phone on an SQLite store (a child of this tool).
    #[command(hide = true)]
    ServePhone(PhoneArgs),
    /// Many primaries on memory stores (a child of this tool).
    #[command(hide = true)]
    ServePrimaries(PrimariesArgs),
}

/// `pairings`.
#[derive(Clone, Debug, Args)]
pub(crate) struct PairingsArgs {
    /// Pairings to complete.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) count: usize,
    /// Pairings in progress at once (each with its own primary).
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
}

/// `reconnects`.
#[derive(Clone, Debug, Args)]
pub(crate) struct ReconnectsArgs {
    /// Reconnects to complete.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) count: usize,
    /// Companions reconnecting at once (each to its own primary).
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
}

/// `messages`.
#[derive(Clone, Debug, Args)]
pub(crate) struct MessagesArgs {
    /// Concurrent pairs, one measurement each.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 100, 8000])]
    pub(crate) pairs: Vec<usize>,
    /// Messages in flight per pair (sent and not yet acknowledged).
    #[arg(long, default_value_t = 4)]
    pub(crate) window: usize,
    /// Measured time per run, after a warm-up of a fifth of it.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub(crate) duration: Duration,
}

/// `media`.
#[derive(Clone, Debug, Args)]
pub(crate) struct MediaArgs {
    /// File size: bytes, or with KiB, MiB, GiB.
    #[arg(long, default_value = "100MiB", value_parser = size)]
    pub(crate) size: u64,
}

/// `first-sync`, and the store of `resume`.
#[derive(Clone, Debug, Args)]
pub(crate) struct StoreArgs {
    /// Chats in the phone's store (each with its contact).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) chats: u64,
    /// Messages in the phone's store, spread over the chats.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) messages: u64,
    /// Where the generated store is kept between runs (default:
    /// `tandem-load-cache` in the target folder).
    #[arg(long)]
    pub(crate) cache: Option<PathBuf>,
}

/// `resume`.
#[derive(Clone, Debug, Args)]
pub(crate) struct ResumeArgs {
    /// Events the phone logs while the companion is away.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) events: u64,
    /// The phone's store.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `idle`.
#[derive(Clone, Debug, Args)]
pub(crate) struct IdleArgs {
    /// Pairs (a primary and a companion each) held idle at the relay.
    #[arg(long, default_value_t = 8_000)]
    pub(crate) pairs: usize,
    /// Companions held idle on one SQLite phone (0: skip).
    #[arg(long, default_value_t = 8_000)]
    pub(crate) phone_companions: usize,
    /// Quiet time before memory is read (acknowledgements settle).
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub(crate) settle: Duration,
}

/// `all`.
#[derive(Clone, Debug, Args)]
pub(crate) struct AllArgs {
    /// Tiny counts (seconds, for CI): no number of it means anything.
    #[arg(long)]
    pub(crate) quick: bool,
}

/// A server child.
#[derive(Clone, Debug, Args)]
pub(crate) struct ServeArgs {
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// MAX_LINKS_PER_ROUTE (the idle phone holds thousands of companions).
    #[arg(long)]
    pub(crate) max_links_per_route: Option<usize>,
}

/// The phone child.
#[derive(Clone, Debug, Args)]
pub(crate) struct PhoneArgs {
    /// The relay's URL.
    #[arg(long)]
    pub(crate) relay: String,
    /// The folder holding `phone.sqlite3`.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Seed of the phone's key.
    #[arg(long)]
    pub(crate) seed: u64,
    /// Companions to link: the companions of seeds `seed + 1 ..= seed + n`.
    #[arg(long, default_value_t = 1)]
    pub(crate) companions: usize,
}

/// The primaries child.
#[derive(Clone, Debug, Args)]
pub(crate) struct PrimariesArgs {
    /// The relay's URL.
    #[arg(long)]
    pub(crate) relay: String,
    /// Pairs `0..count` of this seed.
    #[arg(long)]
    pub(crate) seed: u64,
    /// How many primaries.
    #[arg(long)]
    pub(crate) count: usize,
}

/// `5s`, `500ms`, `2m`.
fn duration(text: &str) -> Result<Duration, String> {
    let value = tandem_client::parse_duration(text)?;
    if value.is_zero() || value > Duration::from_secs(600) {
        return Err("between 1ms and 10m (runs stay bounded)".into());
    }
    Ok(value)
}

/// `100MiB`, `4KiB`, `1GiB`, or bytes.
pub(crate) fn size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 100MiB"))?;
    let scale = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(format!("{text:?}: use B, KiB, MiB or GiB")),
    };
    let bytes = value.saturating_mul(scale);
    if bytes == 0 || bytes > 1 << 30 {
        return Err("between 1 B and 1 GiB (the spec's MAX_MEDIA_SIZE)".into());
    }
    Ok(bytes)
}
