//! The demo's pairing (spec §4): the companion writes its QR code as a PNG,
//! the phone reads that image as a camera would, both show the check code
//! ([PAIR-04]) and the link is stored ([PAIR-08]).

use tandem_phone::commands::LinkPrompt;
use tokio::sync::mpsc;

use super::Demo;
use super::stack::Phone;
use super::summary::Summary;
use crate::error::WebError;
use crate::pair::{PairOptions, Paired, ShownCode, pair};
use crate::state::StateDir;

/// Pairs the companion in `web_state` with `phone`.
pub(super) async fn pair_with_phone(
    demo: &Demo,
    web_state: &StateDir,
    phone: &Phone,
    summary: &mut Summary,
) -> Result<Paired, WebError> {
    let options = PairOptions {
        relay_url: demo.relay_url.clone(),
        connect_url: Some(demo.proxy_url.clone()),
        device_name: "Demo web companion".into(),
        qr_png: Some(demo.dir.join("pairing-code.png")),
        qr_svg: None,
        terminal_qr: demo.terminal_qr,
        allow_plain_ws: false,
        ca: None,
    };
    let (codes, mut shown) = mpsc::unbounded_channel::<ShownCode>();
    let web = pair(web_state, &options, &demo.web, move |code| {
        let _ = codes.send(code.clone());
    });
    let phone_side = async {
        let Some(code) = shown.recv().await else {
            return Err(WebError::Invalid("the companion showed no code".into()));
        };
        let Some(png) = code.png.as_deref() else {
            return Err(WebError::Invalid("no PNG was written".into()));
        };
        let read = tandem_phone::qr_image::read_qr_png(png)
            .map_err(|err| WebError::Invalid(format!("the phone's camera: {err}")))?;
        demo.phone.line(format!(
            "Camera: read a {}-character Tandem code from {}.",
            read.len(),
            png.display()
        ));
        let mut check = String::new();
        tandem_phone::commands::link(&phone.state, &read, false, async |prompt: &LinkPrompt| {
            demo.phone.line(format!(
                "Link \"{}\" (device {})? Check code: {}. The person confirms.",
                prompt.device_name, prompt.device_id, prompt.check_code
            ));
            check = prompt.check_code.clone();
            true
        })
        .await
        .map_err(|err| WebError::Invalid(format!("the phone could not link: {err}")))?;
        Ok((read == code.text, check))
    };
    let (paired, phone_side) = tokio::join!(web, phone_side);
    let paired = paired?;
    let (same_text, phone_check) = phone_side?;
    demo.narrator.line("");
    summary.check(
        &demo.narrator,
        same_text,
        "the phone decoded the QR code from the rendered PNG image",
    );
    summary.check(
        &demo.narrator,
        !phone_check.is_empty() && phone_check == paired.check_code,
        format!(
            "both devices showed the check code {} (phone: {phone_check})",
            paired.check_code
        ),
    );
    Ok(paired)
}
