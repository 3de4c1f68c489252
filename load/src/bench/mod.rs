//! The measurements, one module each, and how they are run: each one
//! `--repeat` times (alternating which of Tandem and its baseline goes
//! first), the runs gathered into one report.

mod cpu;
mod first_sync;
mod idle;
mod media;
mod messages;
mod pairings;
mod phone_session;
mod reconnects;
mod resume;

use std::future::Future;
use std::time::Duration;

pub(crate) use cpu::{Cpu, CpuMeter};

use crate::Error;
use crate::cli::{
    AllArgs, Command, Common, IdleArgs, MediaArgs, MessagesArgs, PairingsArgs, ReconnectsArgs,
    ResumeArgs, StoreArgs,
};
use crate::report::{Outcome, Report};

/// Runs `tandem` and `baseline` one after the other, the baseline first on
/// odd runs, so that a drift in the machine's load favours neither.
pub(crate) async fn alternate<A, B, FA, FB>(
    run: u32,
    tandem: impl FnOnce() -> FA,
    baseline: impl FnOnce() -> FB,
) -> Result<(A, B), Error>
where
    FA: Future<Output = Result<A, Error>>,
    FB: Future<Output = Result<B, Error>>,
{
    if run.is_multiple_of(2) {
        let a = tandem().await?;
        let b = baseline().await?;
        Ok((a, b))
    } else {
        let b = baseline().await?;
        let a = tandem().await?;
        Ok((a, b))
    }
}

/// One measurement with its arguments.
#[derive(Clone, Debug)]
enum Measurement {
    Pairings(PairingsArgs),
    Reconnects(ReconnectsArgs),
    Messages(MessagesArgs),
    Media(MediaArgs),
    FirstSync(StoreArgs),
    Resume(ResumeArgs),
    Idle(IdleArgs),
}

impl Measurement {
    fn name(&self) -> &'static str {
        match self {
            Self::Pairings(_) => "pairings",
            Self::Reconnects(_) => "reconnects",
            Self::Messages(_) => "messages",
            Self::Media(_) => "media",
            Self::FirstSync(_) => "first-sync",
            Self::Resume(_) => "resume",
            Self::Idle(_) => "idle",
        }
    }

    async fn run(&self, common: &Common, run: u32) -> Result<Outcome, Error> {
        match self {
            Self::Pairings(args) => pairings::run(common, args).await,
            Self::Reconnects(args) => reconnects::run(common, args).await,
            Self::Messages(args) => {
                let mut all = Outcome::default();
                for &pairs in &args.pairs {
                    let one =
                        messages::run(common, pairs.max(1), args.window.max(1), args.duration, run)
                            .await?;
                    all.rows.extend(one.rows);
                    all.checks.extend(one.checks);
                    all.notes.extend(one.notes);
                }
                Ok(all)
            }
            Self::Media(args) => media::run(common, args, run).await,
            Self::FirstSync(args) => first_sync::run(common, args).await,
            Self::Resume(args) => resume::run(common, args).await,
            Self::Idle(args) => idle::run(common, args).await,
        }
    }
}

/// The measurements of a command (none for the hidden roles).
fn plan(command: &Command) -> Vec<Measurement> {
    match command {
        Command::Pairings(args) => vec![Measurement::Pairings(args.clone())],
        Command::Reconnects(args) => vec![Measurement::Reconnects(args.clone())],
        Command::Messages(args) => vec![Measurement::Messages(args.clone())],
        Command::Media(args) => vec![Measurement::Media(args.clone())],
        Command::FirstSync(args) => vec![Measurement::FirstSync(args.clone())],
        Command::Resume(args) => vec![Measurement::Resume(args.clone())],
        Command::Idle(args) => vec![Measurement::Idle(args.clone())],
        Command::All(args) => everything(args),
        Command::ServeRelay(_)
        | Command::ServeForwarder(_)
        | Command::ServePhone(_)
        | Command::ServePrimaries(_) => Vec::new(),
    }
}

/// `all`: every measurement, bounded; `--quick` with tiny counts.
fn everything(args: &AllArgs) -> Vec<Measurement> {
    let store = |chats, messages| StoreArgs {
        chats,
        messages,
        cache: None,
    };
    if args.quick {
        return vec![
            Measurement::Pairings(PairingsArgs {
                count: 4,
                concurrency: 2,
            }),
            Measurement::Reconnects(ReconnectsArgs {
                count: 4,
                concurrency: 2,
            }),
            Measurement::Messages(MessagesArgs {
                pairs: vec![1, 4],
                window: 2,
                duration: Duration::from_millis(300),
            }),
            Measurement::Media(MediaArgs { size: 1 << 20 }),
            Measurement::FirstSync(store(20, 2_000)),
            Measurement::Resume(ResumeArgs {
                events: 200,
                store: store(20, 2_000),
            }),
            Measurement::Idle(IdleArgs {
                pairs: 6,
                phone_companions: 4,
                settle: Duration::from_millis(100),
            }),
        ];
    }
    vec![
        Measurement::Pairings(PairingsArgs {
            count: 1_000,
            concurrency: 4,
        }),
        Measurement::Reconnects(ReconnectsArgs {
            count: 2_000,
            concurrency: 4,
        }),
        Measurement::Messages(MessagesArgs {
            pairs: vec![1, 100],
            window: 4,
            duration: Duration::from_secs(5),
        }),
        // 8,000 pairs with one message in flight each: 8,000 at once.
        Measurement::Messages(MessagesArgs {
            pairs: vec![8_000],
            window: 1,
            duration: Duration::from_secs(10),
        }),
        Measurement::Media(MediaArgs { size: 100 << 20 }),
        Measurement::FirstSync(store(10_000, 1_000_000)),
        Measurement::Resume(ResumeArgs {
            events: 10_000,
            store: store(10_000, 1_000_000),
        }),
        Measurement::Idle(IdleArgs {
            pairs: 8_000,
            phone_companions: 8_000,
            settle: Duration::from_secs(2),
        }),
    ]
}

/// Runs the command's measurements and gathers their report.
pub(crate) async fn execute(command: &Command, common: &Common) -> Result<Report, Error> {
    let mut report = Report::default();
    for measurement in plan(command) {
        let mut runs = Vec::new();
        for run in 0..common.repeat {
            eprintln!(
                "tandem-load: {} (run {} of {})",
                measurement.name(),
                run + 1,
                common.repeat
            );
            let outcome = measurement
                .run(common, run)
                .await
                .map_err(|err| format!("{}: {err}", measurement.name()))?;
            runs.push(outcome);
        }
        report.add_runs(runs);
    }
    Ok(report)
}
