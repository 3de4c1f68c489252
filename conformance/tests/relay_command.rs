//! A relay started from a command template (spec §12.6): the reference
//! relay behind `tandem-conformance relay-adapter` announces itself with
//! `ready`, passes, and shuts down on SIGTERM ([CONF-12], [CONF-13]); a
//! command that exits without `ready` fails [CONF-12]; a command that
//! cannot start is a harness error; a relay given by URL runs every case
//! but those that stop or fill it, which are listed as not run.

#![allow(clippy::unwrap_used)]

mod support;

use tandem_conformance::command::Template;
use tandem_conformance::relay::embedded::{Embedded, config};
use tandem_conformance::relay::launch::{CommandLauncher, Instance, UrlLauncher};
use tandem_conformance::relay::params::RelayParams;
use tandem_conformance::verdict::Verdict;

fn launcher(template: &str) -> Box<CommandLauncher> {
    Box::new(CommandLauncher::new(Template::parse(template).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_relay_as_a_command_passes_and_stops_on_sigterm() {
    let template = format!("'{}' relay-adapter --listen {{listen_addr}}", support::BIN);
    let selection = [
        "relay.CONF-12.1",
        "relay.TRN-05.1",
        "relay.RLY-02.1",
        "relay.RLY-19.1",
        "relay.RLY-06.1",
    ];
    let report = support::run(
        vec![support::relay_with(launcher(&template))],
        &support::options(&selection, 1.0),
    )
    .await;
    assert_eq!(report.summary.total, selection.len());
    assert_eq!(
        report.summary.exit_status,
        0,
        "{}",
        support::explain(&report)
    );
}

#[tokio::test]
async fn a_command_that_never_says_ready_fails_conf_12() {
    let report = support::run(
        vec![support::relay_with(launcher(
            "sh -c 'echo listening; exit 0'",
        ))],
        &support::options(&["relay.RLY-02.1"], 1.0),
    )
    .await;
    let case = &report.cases[0];
    assert_eq!(case.verdict, Verdict::Fail, "{}", support::explain(&report));
    assert!(
        case.expected
            .as_deref()
            .unwrap_or_default()
            .contains("CONF-12")
    );
    assert_eq!(report.summary.exit_status, 1);
}

#[tokio::test]
async fn a_command_that_cannot_start_is_a_harness_error() {
    let report = support::run(
        vec![support::relay_with(launcher(
            "/nonexistent/relay {listen_addr}",
        ))],
        &support::options(&["relay.RLY-02.1"], 1.0),
    )
    .await;
    assert_eq!(report.cases[0].verdict, Verdict::HarnessError);
    assert_eq!(report.summary.exit_status, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_given_by_url_skips_the_cases_that_stop_or_fill_it() {
    let params = RelayParams::embedded(1.0);
    let relay = Embedded::start(config(&params), params.clone())
        .await
        .unwrap();
    let url = UrlLauncher::new(relay.url(), params);
    let selection = [
        "relay.TRN-05.1",
        "relay.RLY-24.1",
        "relay.RLY-14.1",
        "relay.ENV-02.*",
    ];
    let report = support::run(
        vec![support::relay_with(Box::new(url))],
        &support::options(&selection, 1.0),
    )
    .await;
    let mut not_run: Vec<&str> = report.targets[0]
        .not_run
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    not_run.sort();
    assert_eq!(not_run, ["relay.RLY-24.1", "relay.TRN-05.1"]);
    assert_eq!(report.summary.total, 4);
    assert_eq!(
        report.summary.exit_status,
        0,
        "{}",
        support::explain(&report)
    );
}
