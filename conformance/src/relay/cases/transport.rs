//! WebSocket-level cases (spec §2): the subprotocol ([TRN-02]), text and
//! oversized messages ([TRN-03], [TRN-04]), other violations of RFC 6455,
//! extensions ([TRN-11]) and client addresses behind proxies ([TRN-10]).

use tandem_codec::Code;
use tandem_codec::envelope::EnvelopeFrame;

use super::{RelayCase, case, data, expect_data, expect_error};
use crate::case::{CaseResult, Failure, ensure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;
use crate::relay::peer::{Connect, SUBPROTOCOL};

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case(
            "TRN-02",
            1,
            &[],
            "an upgrade offering tandem.v1 is accepted with tandem.v1 selected",
            &[],
            |ctx| selects(ctx, "tandem.v1"),
        ),
        case(
            "TRN-02",
            2,
            &[],
            "an upgrade offering tandem.v2, tandem.v1 gets tandem.v1, the first it supports",
            &[],
            |ctx| selects(ctx, "tandem.v2, tandem.v1"),
        ),
        case(
            "TRN-02",
            3,
            &[],
            "an upgrade without a subprotocol is refused with 400 and `supported: tandem.v1`",
            &[NO_SUBPROTOCOL],
            |ctx| refused(ctx, None),
        ),
        case(
            "TRN-02",
            4,
            &[],
            "an upgrade offering only tandem.v9 is refused with 400 and `supported: tandem.v1`",
            &[UNKNOWN_SUBPROTOCOL],
            |ctx| refused(ctx, Some("tandem.v9")),
        ),
        case(
            "TRN-03",
            1,
            &["TRN-06"],
            "a text message closes the connection with 1003",
            &[TEXT_MESSAGE],
            text_message,
        ),
        case(
            "TRN-04",
            1,
            &["TRN-06"],
            "a binary message of 65,541 bytes closes the connection with 1009",
            &[OVERSIZED_MESSAGE],
            oversized,
        ),
        case(
            "TRN-04",
            2,
            &["RLY-14"],
            "a message of exactly 65,540 bytes (the largest Data) is accepted and forwarded",
            &[],
            largest,
        ),
        case(
            "TRN-04",
            3,
            &["TRN-06"],
            "a message of 70,000 bytes in two fragments closes the connection with 1009",
            &[OVERSIZED_FRAGMENTS],
            fragments,
        ),
        case(
            "TRN-04",
            4,
            &["TRN-06"],
            "an unmasked client frame closes the connection with 1002",
            &[UNMASKED_FRAME],
            |ctx| violation(ctx, Violation::Unmasked),
        ),
        case(
            "TRN-04",
            5,
            &["TRN-06"],
            "a control frame of 126 bytes closes the connection with 1002",
            &[LONG_CONTROL_FRAME],
            |ctx| violation(ctx, Violation::LongControl),
        ),
        case(
            "TRN-04",
            6,
            &["TRN-06"],
            "a reserved bit set without an extension closes the connection with 1002",
            &[RESERVED_BIT],
            |ctx| violation(ctx, Violation::ReservedBit),
        ),
        case(
            "TRN-04",
            7,
            &["TRN-06"],
            "a reserved opcode closes the connection with 1002",
            &[UNKNOWN_OPCODE],
            |ctx| violation(ctx, Violation::ReservedOpcode),
        ),
        case(
            "TRN-07",
            1,
            &["RLY-17"],
            "a primary's Close is acted on by its code alone: whatever its reason says, the primary is offline",
            &[],
            close_reason,
        ),
        case(
            "TRN-10",
            1,
            &["RLY-06"],
            "Forwarded headers from a client do not change its address for MAX_CHANNELS_PER_ADDRESS",
            &[SPOOFED_FORWARDED, CHANNEL_FLOOD],
            spoofed_forwarded,
        ),
        case(
            "TRN-11",
            1,
            &[],
            "an offer of permessage-deflate is not accepted",
            &[DEFLATE_OFFER],
            deflate,
        ),
    ]
}

async fn selects(ctx: Ctx, offer: &'static str) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    let response = client.upgrade(Some(offer), &[], ctx.wait()).await?;
    ensure(
        response.status == 101,
        format!("101 Switching Protocols for an offer of `{offer}`"),
        || format!("HTTP {} {}", response.status, response.body),
    )?;
    let selected = response
        .header("sec-websocket-protocol")
        .unwrap_or("(none)");
    ensure(
        selected == SUBPROTOCOL,
        format!("Sec-WebSocket-Protocol: {SUBPROTOCOL} in the 101 response"),
        || format!("Sec-WebSocket-Protocol: {selected}"),
    )
}

async fn refused(ctx: Ctx, offer: Option<&'static str>) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    let response = client.upgrade(offer, &[], ctx.wait()).await?;
    let expected =
        "HTTP 400 with a text/plain; charset=utf-8 body whose first line is `supported: tandem.v1`";
    ensure(response.status == 400, expected, || {
        format!("HTTP {} {}", response.status, response.body)
    })?;
    let content_type = response
        .header("content-type")
        .unwrap_or("(none)")
        .to_ascii_lowercase()
        .replace(' ', "");
    ensure(content_type == "text/plain;charset=utf-8", expected, || {
        format!("Content-Type: {content_type}")
    })?;
    let first = response.body.lines().next().unwrap_or_default();
    let names: Vec<&str> = first
        .strip_prefix("supported:")
        .map(|r| r.split(' ').skip(1).collect())
        .unwrap_or_default();
    ensure(
        first.starts_with("supported: ") && names.contains(&SUBPROTOCOL),
        expected,
        || format!("first line `{first}`"),
    )
}

async fn text_message(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.send_text("hello").await?;
    peer.expect_close(
        ctx.wait(),
        Code::UNSUPPORTED_DATA,
        "[TRN-03] a text message",
    )
    .await
}

async fn oversized(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    // A Data frame with a payload one byte over the limit: a relay that
    // decoded it instead of refusing the message would close with 4000.
    let frame = tandem_codec::testing::with_trailing(&[0x0E, 0, 0, 0, 1], &ctx.bytes(65_536));
    peer.send_bytes(frame, "Data of 65,541 bytes").await?;
    peer.expect_close(
        ctx.wait(),
        Code::MESSAGE_TOO_BIG,
        "[TRN-04] a message above 65,540 bytes",
    )
    .await
}

async fn largest(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let up = ctx.bytes(65_535);
    pair.companion
        .send(data(pair.companion_link, up.clone()))
        .await?;
    expect_data(
        &ctx,
        &mut pair.primary,
        pair.primary_link,
        &up,
        "the 65,540-byte Data",
    )
    .await?;
    let down = ctx.bytes(65_535);
    pair.primary
        .send(data(pair.primary_link, down.clone()))
        .await?;
    expect_data(
        &ctx,
        &mut pair.companion,
        pair.companion_link,
        &down,
        "the 65,540-byte Data",
    )
    .await
}

async fn fragments(ctx: Ctx) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    let response = client.upgrade(Some(SUBPROTOCOL), &[], ctx.wait()).await?;
    ensure(response.status == 101, "101 Switching Protocols", || {
        format!("HTTP {}", response.status)
    })?;
    let mut first = vec![0x0E, 0, 0, 0, 1];
    first.extend(ctx.bytes(39_995));
    client
        .send_frame(
            false,
            0,
            0x2,
            true,
            &first,
            "binary fragment of 40,000 bytes",
        )
        .await?;
    client
        .send_frame(
            true,
            0,
            0x0,
            true,
            &ctx.bytes(30_000),
            "continuation of 30,000 bytes",
        )
        .await?;
    client
        .expect_close(
            ctx.wait(),
            Code::MESSAGE_TOO_BIG.0,
            "[TRN-04] fragments adding up to 70,000 bytes",
        )
        .await
}

enum Violation {
    Unmasked,
    LongControl,
    ReservedBit,
    ReservedOpcode,
}

async fn violation(ctx: Ctx, violation: Violation) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    let response = client.upgrade(Some(SUBPROTOCOL), &[], ctx.wait()).await?;
    ensure(response.status == 101, "101 Switching Protocols", || {
        format!("HTTP {}", response.status)
    })?;
    let ping = [0x0F, 0, 0, 0, 0, 0, 0, 0, 1];
    match violation {
        Violation::Unmasked => {
            client
                .send_frame(true, 0, 0x2, false, &ping, "unmasked binary frame (a Ping)")
                .await?
        }
        Violation::LongControl => {
            client
                .send_frame(
                    true,
                    0,
                    0x9,
                    true,
                    &[0x55; 126],
                    "WebSocket Ping with 126 bytes",
                )
                .await?
        }
        Violation::ReservedBit => {
            client
                .send_frame(true, 0b100, 0x2, true, &ping, "binary frame with RSV1 set")
                .await?
        }
        Violation::ReservedOpcode => {
            client
                .send_frame(true, 0, 0x3, true, &ping, "frame with opcode 0x3")
                .await?
        }
    }
    client
        .expect_close(
            ctx.wait(),
            Code::PROTOCOL_ERROR.0,
            "[TRN-04] a violation of RFC 6455",
        )
        .await
}

async fn spoofed_forwarded(ctx: Ctx) -> CaseResult {
    let per_connection = ctx.params().max_channels_per_connection;
    let per_address = ctx.params().max_channels_per_address;
    let mut peers = Vec::new();
    let mut opened = 0usize;
    let mut n = 0u32;
    while opened < per_address {
        n += 1;
        let spoof = format!("10.{}.{}.{}", n / 65_536 % 256, n / 256 % 256, n % 256);
        let options = Connect {
            headers: vec![
                ("X-Forwarded-For".into(), spoof.clone()),
                ("Forwarded".into(), format!("for={spoof}")),
            ],
            ..Connect::default()
        };
        let mut peer = ctx.connect_with("companion", options).await?;
        for _ in 0..per_connection.min(per_address - opened) {
            ctx.open_channel(&mut peer).await?;
            opened += 1;
        }
        peers.push(peer);
    }
    let options = Connect {
        headers: vec![
            ("X-Forwarded-For".into(), "10.255.255.254".into()),
            ("Forwarded".into(), "for=10.255.255.254".into()),
        ],
        ..Connect::default()
    };
    let mut last = ctx.connect_with("companion", options).await?;
    last.send(EnvelopeFrame::OpenChannel).await?;
    expect_error(
        &ctx,
        &mut last,
        Code::TOO_MANY_CHANNELS,
        "the address is the TCP connection's, not the header's [TRN-10]",
    )
    .await
    .map(|_| ())
}

async fn deflate(ctx: Ctx) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    let response = client
        .upgrade(
            Some(SUBPROTOCOL),
            &[(
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            )],
            ctx.wait(),
        )
        .await?;
    ensure(response.status == 101, "101 Switching Protocols", || {
        format!("HTTP {}", response.status)
    })?;
    match response.header("sec-websocket-extensions") {
        None => Ok(()),
        Some(ext) => Err(Failure::fail(
            "no Sec-WebSocket-Extensions in the 101 response [TRN-11]",
            format!("Sec-WebSocket-Extensions: {ext}"),
        )),
    }
}

async fn close_reason(ctx: Ctx) -> CaseResult {
    let pair = ctx.pair().await?;
    let mut companion = pair.companion;
    // A reason that reads like an instruction: it must not be parsed.
    pair.primary
        .close_with(1000, "route_replaced; keep my route and links")
        .await;
    let link = pair.companion_link;
    companion
        .expect(
            ctx.wait(),
            "PeerState(online = false): the primary left, whatever its reason [TRN-07] [RLY-17]",
            |f| match f {
                EnvelopeFrame::PeerState(p) if p.link_id == link && !p.online => Some(()),
                _ => None,
            },
        )
        .await?;
    let mut again = ctx.primary(&pair.key).await?;
    ctx.link_opened(&mut again).await.map(|_| ())
}
