//! `tandem-web adapter`: the endpoint adapter of spec §12.5 for the companion
//! role, so that the conformance runner can drive this companion by lines on
//! stdin and stdout; it presses the person's buttons and nothing else ([CONF-04]).
//!
//! The adapter runs the same code as the other commands: pairing as `pair`
//! does (§4), the linked session as `watch` and `chat` do (§5, §7), sends
//! through the persisted queue ([SYNC-19]), files as `upload` and `download`
//! do (§8), and `unlink` as the command of that name (§9.4).

mod engine;
mod events;
mod lines;
mod linked;
mod pairing;
mod request;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::error::WebError;
use crate::state::StateDir;

/// The answer to `capabilities` (§12.5.6): what this companion really does.
pub const CAPABILITIES: &str =
    "adapter/1 companion pair reconnect sync send history read media devices restart";

/// The command line of this adapter, for the runner's `--cmd`.
pub const COMMAND_TEMPLATE: &str = "tandem-web --state {state_dir} adapter --relay {relay_url}";

/// How the adapter runs.
#[derive(Clone, Debug)]
pub struct AdapterOptions {
    /// The runner's relay (`{relay_url}`): put in the QR code, and
    /// connected to.
    pub relay_url: String,
    /// This device's name, shown on the phone.
    pub device_name: String,
    /// Allow a plain `ws://` relay off this machine ([QR-06]).
    pub allow_plain_ws: bool,
    /// How long the relay and the phone get in the session's own waits.
    pub timeout: Duration,
    /// Extra CA certificates (PEM) to trust for a `wss://` relay (`--ca`).
    pub ca: Option<PathBuf>,
    /// Deliberate bugs (`--fault`, feature `faults`): the runner's
    /// self-test only.
    #[doc(hidden)]
    pub faults: tandem_proto::faults::Faults,
}

/// Runs the adapter on standard input and output until `quit`, `restart`
/// or the end of the input; exit status 0 then.
pub async fn run(state: &StateDir, options: AdapterOptions) -> Result<ExitCode, WebError> {
    for fault in options.faults.iter() {
        eprintln!(
            "tandem-web: FAULT {fault}: breaks [{}] on purpose",
            fault.breaks()
        );
    }
    let input = lines::spawn_reader(std::io::BufReader::new(std::io::stdin()));
    let engine = engine::Engine::start(state, options, lines::Output::stdout())?;
    engine.run(input).await
}
