//! A relay's life as the runner sees it (spec §12.6): the `ready` line
//! with bounded, declared limits ([CONF-12], [RLY-25]), and shutdown on
//! SIGTERM with 1001 on every connection ([TRN-05], [CONF-13]).

use tandem_codec::Code;

use super::{RelayCase, case};
use crate::case::{CaseResult, Failure};
use crate::relay::ctx::Ctx;
use crate::relay::launch::{STOP_TIMEOUT, Stopped};
use crate::relay::params::parse_ready;

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case("CONF-12", 1, &["RLY-25"], "the relay announces `ready <url>` with bounded limits and timers, and serves that URL", &[], ready),
        case("TRN-05", 1, &["CONF-13"], "on shutdown every connection is closed with going_away, and the relay exits within 10 s", &[], shutdown)
            .own_relay(),
    ]
}

async fn ready(ctx: Ctx) -> CaseResult {
    match ctx.ready_line().await {
        Some(line) => {
            let parsed = parse_ready(&line).map_err(|e| {
                Failure::fail(
                    "`ready <url> NAME=VALUE ...` [CONF-12]",
                    format!("`{line}`: {e}"),
                )
            })?;
            ctx.note(format!("declared: {}", parsed.params.ready_words()));
        }
        None => ctx.note("the relay was not started from a command: it has no ready line to check"),
    }
    let mut peer = ctx.connect("client").await?;
    peer.ping(ctx.wait(), 1).await
}

async fn shutdown(ctx: Ctx) -> CaseResult {
    let mut fresh = ctx.connect("client").await?;
    fresh.ping(ctx.wait(), 1).await?;
    let mut channel = ctx.connect("companion").await?;
    ctx.open_channel(&mut channel).await?;
    let pair = ctx.pair().await?;
    let mut peers = vec![fresh, channel, pair.primary, pair.companion];
    let limit = ctx.scaled(STOP_TIMEOUT);
    let closes = async {
        for peer in &mut peers {
            peer.expect_close_after(
                limit,
                Code::GOING_AWAY,
                "[TRN-05] the relay shuts down",
                |_| true,
            )
            .await?;
        }
        Ok::<(), Failure>(())
    };
    let (stopped, closed) = tokio::join!(ctx.stop_relay(limit), closes);
    closed?;
    match stopped {
        Stopped::Exited(_, after) if after <= limit => {
            ctx.note(format!(
                "the relay exited {:.0} ms after it was asked to stop",
                after.as_secs_f64() * 1000.0
            ));
            Ok(())
        }
        Stopped::Exited(_, after) => Err(Failure::fail(
            "an exit within 10 s of SIGTERM [CONF-13]",
            format!("after {:.1} s", after.as_secs_f64()),
        )),
        Stopped::StillRunning => Err(Failure::timeout(
            format!(
                "an exit within {:.0} s of SIGTERM [CONF-13]",
                limit.as_secs_f64()
            ),
            "it was still running",
        )),
    }
}
