//! The `tandem-conformance` command line (spec §12): with no arguments it
//! tests the reference companion and primary (behind this binary's
//! endpoint adapters), the reference relay (in-process) and the reference
//! codec adapter (this binary's `codec-adapter`), writes the reports to
//! `./conformance-report/` and exits with the status of §12.3. Options
//! point it at another implementation; subcommands list cases, coverage
//! and faults, and serve the reference adapters.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::case::Role;
use crate::codec::CodecTarget;
use crate::codec::mutants::CodecMutant;
use crate::command::Template;
use crate::coverage::coverage;
use crate::endpoint::EndpointTarget;
use crate::expected::ExpectedFailures;
use crate::pattern::Selection;
use crate::relay::RelayTarget;
use crate::relay::embedded::EmbeddedLauncher;
use crate::relay::faults::CATALOGUE;
use crate::relay::launch::{CommandLauncher, Launcher, UrlLauncher};
use crate::relay::params::RelayParams;
use crate::report::terminal;
use crate::runner::{RunOptions, Target};
use crate::spec_index::SpecIndex;
use crate::verdict::Verdict;

const EXAMPLES: &str = "\
Examples:
  # The whole suite against the reference implementations (the web companion
  # and the phone behind this binary's endpoint adapters, an in-process relay,
  # this binary's codec adapter); reports in ./conformance-report/:
  tandem-conformance

  # Your companion, started for each case behind the endpoint adapter of
  # §12.5 (requests on its stdin, answers and events on its stdout):
  tandem-conformance --target companion --companion-cmd './my-client --relay {relay_url} --data {state_dir}'

  # Your primary; {qr_payload} passes the QR text at start instead of `link`:
  tandem-conformance --target primary --primary-cmd './my-phone --relay {relay_url} --data {state_dir}'

  # Your relay, started by the runner for each case. It must print
  # `ready ws://ADDR/ NAME=VALUE...` (spec §12.6) once it accepts connections:
  tandem-conformance --target relay --relay-cmd './my-relay --listen {listen_addr} --idle-timeout 3s'

  # The same path with the reference relay's own binary, or the copy this
  # binary wraps (with the runner's small timers):
  tandem-conformance --target relay --relay-cmd 'tandem-relay --listen {listen_addr} --idle-timeout 3s'
  tandem-conformance --target relay --relay-cmd 'tandem-conformance relay-adapter --listen {listen_addr}'

  # A relay that is already running (cases that stop or fill it are not run):
  tandem-conformance --target relay --relay-url ws://127.0.0.1:8080/ --relay-param IDLE_TIMEOUT=60000

  # Your codec, through an adapter that answers one line per request (§12.7):
  tandem-conformance --target codec --codec-cmd 'python3 my_codec_adapter.py'

  # A subset, reproducibly, with more time on a slow machine:
  tandem-conformance --case 'relay.RLY-0*' --case 'codec.qr-*' --seed 42 --time-scale 3

  # What there is:
  tandem-conformance list --target relay
  tandem-conformance coverage
  tandem-conformance faults

  # Known bugs still run and are reported, but do not fail the run:
  tandem-conformance --expected-failures known-failures.txt

Exit status: 0 no case failed; 1 a case failed, a MUST case timed out, or an
expected failure passed; 2 a harness error, or no case ran. Placeholders:
companion template {relay_url} {state_dir} {case_id}; primary template the same
and {qr_payload}; relay template {listen_addr} {state_dir} {case_id}.";

/// The Tandem conformance runner: tests a companion, a primary, a relay or
/// a codec against the spec, case by case, with the bytes on the
/// wire.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run cases (what happens with no subcommand).
    Run(Box<RunArgs>),
    /// List the cases with their requirement ids.
    List(ListArgs),
    /// Print which requirements of each role the cases cover.
    Coverage,
    /// List the named faults of the runner's peers and the codec mutants.
    Faults,
    /// The reference codec adapter (§12.7) on standard input and output.
    CodecAdapter {
        /// Break one rule on purpose, for the runner's self-test
        /// (`tandem-conformance faults` lists them).
        #[arg(long, value_name = "NAME")]
        mutant: Option<String>,
    },
    /// The reference companion, `tandem-web`, run with these arguments; the
    /// default `--companion-cmd` is `companion-adapter --state {state_dir}
    /// adapter --relay {relay_url}`, its endpoint adapter (§12.5).
    CompanionAdapter {
        /// The arguments of `tandem-web`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// The reference primary, `tandem-phone`, run with these arguments; the
    /// default `--primary-cmd` is `primary-adapter --state {state_dir}
    /// adapter --relay {relay_url}`, its endpoint adapter (§12.5).
    PrimaryAdapter {
        /// The arguments of `tandem-phone`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// The reference relay for a relay template: listens, prints
    /// `ready <url> NAME=VALUE...`, shuts down on SIGTERM (§12.6).
    RelayAdapter {
        /// Address to listen on (`{listen_addr}`).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Multiplies its timers (the runner's small defaults).
        #[arg(long, value_name = "F", default_value_t = 1.0)]
        time_scale: f64,
        /// Override a declared value, `NAME=VALUE` (ms for timers).
        #[arg(long, value_name = "NAME=VALUE")]
        set: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TargetName {
    Companion,
    Primary,
    Relay,
    Codec,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only these targets.
    #[arg(long, value_enum, value_delimiter = ',')]
    target: Vec<TargetName>,
    /// Only cases whose id matches (glob with `*` and `?`).
    #[arg(long = "case", value_name = "PATTERN")]
    cases: Vec<String>,
}

#[derive(Debug, Args, Default)]
struct RunArgs {
    /// Which roles to test (default: all four).
    #[arg(long, value_enum, value_delimiter = ',')]
    target: Vec<TargetName>,
    /// Start this relay for each case instead of the embedded reference
    /// relay; placeholders {listen_addr} {state_dir} {case_id}.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "relay_url")]
    relay_cmd: Option<String>,
    /// Test the relay already running at this ws:// or wss:// URL.
    #[arg(long, value_name = "URL")]
    relay_url: Option<String>,
    /// Also trust the CA certificates of this PEM file for a wss:// relay
    /// (a private CA; the webpki roots are always trusted).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// A limit or timer of the relay at --relay-url, `NAME=VALUE` as in a
    /// ready line (ms for timers); repeat for several.
    #[arg(long, value_name = "NAME=VALUE", requires = "relay_url")]
    relay_param: Vec<String>,
    /// The companion under test, behind the endpoint adapter of §12.5
    /// (default: the reference companion, this binary's
    /// `companion-adapter`); placeholders {relay_url} {state_dir} {case_id}.
    #[arg(long, value_name = "TEMPLATE")]
    companion_cmd: Option<String>,
    /// The primary under test, behind the endpoint adapter of §12.5
    /// (default: the reference primary, this binary's `primary-adapter`);
    /// placeholders {relay_url} {state_dir} {qr_payload} {case_id}.
    #[arg(long, value_name = "TEMPLATE")]
    primary_cmd: Option<String>,
    /// The codec adapter command (default: this binary's `codec-adapter`).
    #[arg(long, value_name = "TEMPLATE")]
    codec_cmd: Option<String>,
    /// Read the codec vectors from this folder instead of the copy built in.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Only cases whose id matches (glob with `*` and `?`, several
    /// separated by commas or given again).
    #[arg(long = "case", value_name = "PATTERN")]
    cases: Vec<String>,
    /// The run's seed: the same seed sends the same bytes (default: from
    /// the clock, printed and recorded in the reports).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Multiplies every time the runner allows (and the embedded relay's
    /// timers); above 1 on a slow machine.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// Cases at once, for targets the runner starts per case.
    #[arg(long, value_name = "N", default_value_t = 4)]
    jobs: usize,
    /// Where to write report.json, junit.xml and the HTML pages.
    #[arg(long, value_name = "DIR", default_value = "conformance-report")]
    out: PathBuf,
    /// Write no report files.
    #[arg(long)]
    no_report: bool,
    /// Cases expected not to pass: `<case id> <reason>` per line.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,
    /// Print only the cases that did not pass, and the summary.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the command line; the exit status of §12.3.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CodecAdapter { mutant }) => codec_adapter(mutant.as_deref()),
        Some(Command::RelayAdapter {
            listen,
            time_scale,
            set,
        }) => relay_adapter(listen, time_scale, &set),
        Some(Command::CompanionAdapter { args }) => {
            tandem_web::cli::main_from(std::iter::once("tandem-web".into()).chain(args))
        }
        Some(Command::PrimaryAdapter { args }) => {
            tandem_phone::cli::main_from(std::iter::once("tandem-phone".into()).chain(args))
        }
        Some(Command::List(args)) => list(&args),
        Some(Command::Coverage) => print_coverage(),
        Some(Command::Faults) => faults(),
        Some(Command::Run(args)) => run(*args),
        None => run(cli.run),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tandem-conformance: {message}");
    ExitCode::from(2)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn codec_adapter(mutant: Option<&str>) -> ExitCode {
    let mutant = match mutant.map(|m| CodecMutant::from_name(m).ok_or(m)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(name)) => {
            return fail(format!(
                "no mutant `{name}`; `tandem-conformance faults` lists them"
            ));
        }
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match crate::codec::adapter::serve(stdin, stdout, mutant) {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(e) => fail(format!("codec adapter: {e}")),
    }
}

fn relay_adapter(listen: std::net::SocketAddr, time_scale: f64, set: &[String]) -> ExitCode {
    let mut params = RelayParams::embedded(time_scale);
    for word in set {
        let Some((name, value)) = word.split_once('=') else {
            return fail(format!("`{word}` is not NAME=VALUE"));
        };
        match params.set(name, value) {
            Ok(true) => {}
            Ok(false) => return fail(format!("unknown name `{name}`")),
            Err(e) => return fail(e),
        }
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match runtime.block_on(crate::relay::embedded::serve_adapter(listen, params)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn index() -> Result<SpecIndex, ExitCode> {
    SpecIndex::embedded().map_err(|e| {
        fail(format!(
            "the built-in requirement index does not parse: {e}"
        ))
    })
}

/// Every target the runner has, as listed (not run): the relay with its
/// defaults and the codec with the built-in vectors.
fn listing_targets(which: &[TargetName]) -> Vec<Arc<dyn Target>> {
    let all = which.is_empty();
    let mut targets: Vec<Arc<dyn Target>> = Vec::new();
    for (name, role) in [
        (TargetName::Companion, Role::Companion),
        (TargetName::Primary, Role::Primary),
    ] {
        if (all || which.contains(&name))
            && let Ok(template) = Template::from_words(vec![format!("{role}-adapter")])
        {
            targets.push(Arc::new(EndpointTarget::new(role, template, "built-in")));
        }
    }
    if all || which.contains(&TargetName::Relay) {
        targets.push(Arc::new(RelayTarget::new(Box::new(EmbeddedLauncher::new(
            RelayParams::embedded(1.0),
        )))));
    }
    if all || which.contains(&TargetName::Codec) {
        let vectors = crate::codec::vectors::embedded().unwrap_or_default();
        if let Ok(template) = Template::from_words(vec!["codec-adapter".into()]) {
            targets.push(Arc::new(CodecTarget::new(template, "built-in", vectors)));
        }
    }
    targets
}

fn list(args: &ListArgs) -> ExitCode {
    let index = match index() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let selection = Selection::new(&args.cases);
    let mut out = std::io::stdout().lock();
    let mut n = 0;
    for target in listing_targets(&args.target) {
        for case in target
            .cases()
            .into_iter()
            .filter(|c| selection.matches(&c.id))
        {
            let level = case
                .primary_requirement()
                .map_or(crate::requirements::Level::Must, |r| index.level(r));
            let _ = writeln!(
                out,
                "{:<48} {:<6} {:<40} {}",
                case.id,
                level.as_str(),
                case.requirements.join(","),
                case.title
            );
            n += 1;
        }
    }
    let _ = writeln!(out, "{n} cases");
    ExitCode::SUCCESS
}

fn print_coverage() -> ExitCode {
    let index = match index() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let cases: Vec<_> = listing_targets(&[])
        .iter()
        .flat_map(|t| t.cases())
        .collect();
    for c in coverage(&index, &cases, &[Role::Relay, Role::Codec]) {
        println!(
            "{:<10} MUST {}/{} covered, SHOULD {}/{} covered",
            c.role.as_str(),
            c.must_covered,
            c.must_total,
            c.should_covered,
            c.should_total
        );
        if !c.must_uncovered.is_empty() {
            println!(
                "           MUST without a case: {}",
                c.must_uncovered.join(" ")
            );
        }
        if !c.should_uncovered.is_empty() {
            println!(
                "           SHOULD without a case: {}",
                c.should_uncovered.join(" ")
            );
        }
        for u in &c.not_testable {
            println!(
                "           not testable from outside: {} ({})",
                u.id, u.reason
            );
        }
    }
    ExitCode::SUCCESS
}

fn faults() -> ExitCode {
    println!("Faults of the runner's own peers against a relay:");
    for f in CATALOGUE {
        println!(
            "  {:<26} {:<6} {:<8} {}",
            f.name, f.section, f.requirement, f.description
        );
    }
    println!("\nMutants of the reference codec adapter (codec-adapter --mutant NAME):");
    for m in CodecMutant::ALL {
        let (section, requirement) = m.breaks();
        println!(
            "  {:<26} {section:<6} {requirement:<8} {}",
            m.name(),
            m.description()
        );
    }
    ExitCode::SUCCESS
}

fn run(args: RunArgs) -> ExitCode {
    let index = match index() {
        Ok(i) => i,
        Err(code) => return code,
    };
    if let Some(path) = &args.ca
        && let Err(e) = crate::relay::peer::trust_ca(path)
    {
        return fail(format!("--ca: {e}"));
    }
    let expected = match &args.expected_failures {
        None => ExpectedFailures::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| ExpectedFailures::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(e) => e,
            Err(e) => return fail(format!("{}: {e}", path.display())),
        },
    };
    let targets = match build_targets(&args) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
    });
    let options = RunOptions {
        seed,
        time_scale: args.time_scale,
        jobs: args.jobs,
        selection: Selection::new(&args.cases),
        patterns: args.cases.clone(),
        expected,
        catalogue: Some(
            listing_targets(&[])
                .iter()
                .flat_map(|t| t.cases())
                .collect(),
        ),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    println!(
        "tandem-conformance {}: seed {seed}, time scale {}",
        env!("CARGO_PKG_VERSION"),
        args.time_scale
    );
    let quiet = args.quiet;
    let mut progress = move |record: &crate::report::CaseRecord| {
        if !quiet || record.verdict != Verdict::Pass {
            print!("{}", terminal::case_line(record));
            let _ = std::io::stdout().flush();
        }
    };
    let report = runtime.block_on(crate::runner::run(targets, &index, &options, &mut progress));
    let out = (!args.no_report).then(|| args.out.display().to_string());
    if let Some(dir) = &out
        && let Err(e) = report.write(&args.out)
    {
        eprintln!("tandem-conformance: cannot write the reports to {dir}: {e}");
    }
    print!("{}", terminal::summary(&report, out.as_deref()));
    ExitCode::from(report.summary.exit_status)
}

/// A command for one of this binary's own subcommands.
fn this_binary(subcommand: &str) -> Result<Template, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this binary for its {subcommand}: {e}"))?;
    Template::from_words(vec![exe.display().to_string(), subcommand.to_owned()])
        .map_err(|e| e.to_string())
}

fn build_targets(args: &RunArgs) -> Result<Vec<Arc<dyn Target>>, String> {
    let all = args.target.is_empty();
    let mut targets: Vec<Arc<dyn Target>> = Vec::new();
    let endpoints = [
        (
            TargetName::Companion,
            Role::Companion,
            &args.companion_cmd,
            "the reference companion (tandem-web)",
        ),
        (
            TargetName::Primary,
            Role::Primary,
            &args.primary_cmd,
            "the reference primary (tandem-phone)",
        ),
    ];
    for (name, role, cmd, reference) in endpoints {
        if !(all || args.target.contains(&name)) {
            continue;
        }
        let (template, implementation) = match cmd {
            Some(cmd) => (
                Template::parse(cmd).map_err(|e| e.to_string())?,
                format!("command: {cmd}"),
            ),
            None => {
                let mut template = this_binary(&format!("{role}-adapter"))?.words().to_vec();
                template.extend(
                    [
                        "--state",
                        "{state_dir}",
                        "adapter",
                        "--relay",
                        "{relay_url}",
                    ]
                    .map(str::to_owned),
                );
                (
                    Template::from_words(template).map_err(|e| e.to_string())?,
                    reference.to_owned(),
                )
            }
        };
        targets.push(Arc::new(EndpointTarget::new(
            role,
            template,
            implementation,
        )));
    }
    if all || args.target.contains(&TargetName::Codec) {
        let vectors = match &args.vectors {
            Some(dir) => crate::codec::vectors::load(dir),
            None => crate::codec::vectors::embedded(),
        }
        .map_err(|e| e.to_string())?;
        let (template, implementation) = match &args.codec_cmd {
            Some(cmd) => (
                Template::parse(cmd).map_err(|e| e.to_string())?,
                format!("command: {cmd}"),
            ),
            None => {
                let exe = std::env::current_exe()
                    .map_err(|e| format!("cannot find this binary for its codec adapter: {e}"))?;
                let words = vec![exe.display().to_string(), "codec-adapter".to_owned()];
                (
                    Template::from_words(words).map_err(|e| e.to_string())?,
                    "the reference codec adapter (tandem-codec)".to_owned(),
                )
            }
        };
        targets.push(Arc::new(CodecTarget::new(
            template,
            implementation,
            vectors,
        )));
    }
    if all || args.target.contains(&TargetName::Relay) {
        let launcher: Box<dyn Launcher> = if let Some(cmd) = &args.relay_cmd {
            Box::new(CommandLauncher::new(
                Template::parse(cmd).map_err(|e| e.to_string())?,
            ))
        } else if let Some(url) = &args.relay_url {
            let mut params = RelayParams::default();
            for word in &args.relay_param {
                let (name, value) = word
                    .split_once('=')
                    .ok_or_else(|| format!("`{word}` is not NAME=VALUE"))?;
                if !params.set(name, value)? {
                    return Err(format!("--relay-param: unknown name `{name}`"));
                }
            }
            Box::new(UrlLauncher::new(url.clone(), params))
        } else {
            Box::new(EmbeddedLauncher::new(RelayParams::embedded(
                args.time_scale,
            )))
        };
        targets.push(Arc::new(RelayTarget::new(launcher)));
    }
    Ok(targets)
}
