//! `tandem-load`: the end-to-end load tool (issue #10). Real primaries and
//! companions through the real relay, each measurement beside a raw
//! baseline measured in the same run; loopback only, bounded, self-ending.

mod bench;
mod children;
mod cli;
mod fixture;
mod keys;
mod latency;
mod phone_store;
mod procfs;
mod raw;
mod report;
mod roles;
mod snow_raw;
mod transport;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// The tool's error: anything, boxed, with its message.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::ServeRelay(args) => roles::servers::relay(args).map(|()| true),
        Command::ServeForwarder(args) => roles::servers::forwarder(args).map(|()| true),
        Command::ServePhone(args) => roles::phone::serve(args).map(|()| true),
        Command::ServePrimaries(args) => roles::primaries::serve(args).map(|()| true),
        command => measure(command, &cli),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("tandem-load: a correctness check failed (see above)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("tandem-load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a measurement command; `Ok(false)` when a check failed.
fn measure(command: &Command, cli: &Cli) -> Result<bool, Error> {
    let runtime = roles::runtime(cli.common.client_threads)?;
    // Spawned, so that the measuring code runs on the runtime's workers
    // beside the drivers it waits for: waiting from `block_on` would wake
    // the main thread across threads for every event (a futex each).
    let (command, common) = (command.clone(), cli.common.clone());
    let report = runtime.block_on(async move {
        tokio::spawn(async move { bench::execute(&command, &common).await }).await?
    })?;
    report.print();
    if cli.common.json {
        report.print_json()?;
    }
    Ok(report.all_ok())
}
