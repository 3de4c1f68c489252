//! The QR code of a pairing payload (spec §4.1): in the terminal with
//! Unicode half blocks, and as PNG and SVG files for cameras and scripts.
//! Error correction M, as the spec sizes it (version 11 at most).

use std::path::Path;

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

use crate::error::WebError;
use crate::state::write_private_file;

/// Pixels per module in the PNG: large enough for a camera on a screen.
const PNG_MODULE: u32 = 8;

fn code(text: &str) -> Result<QrCode, WebError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|err| WebError::Invalid(format!("cannot make a QR code: {err}")))
}

/// The code drawn with half blocks, two modules per character cell, light
/// on dark so that it reads on the usual dark terminal background.
pub fn terminal(text: &str) -> Result<String, WebError> {
    Ok(code(text)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Writes the code as a PNG image (owner-only: it holds the pairing
/// secret until the code expires).
pub fn write_png(text: &str, path: &Path) -> Result<(), WebError> {
    let image = code(text)?
        .render::<image::Luma<u8>>()
        .module_dimensions(PNG_MODULE, PNG_MODULE)
        .quiet_zone(true)
        .build();
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|err| WebError::Invalid(format!("cannot encode the PNG: {err}")))?;
    write_private_file(path, bytes.get_ref())
}

/// Writes the code as an SVG image (owner-only, as the PNG).
pub fn write_svg(text: &str, path: &Path) -> Result<(), WebError> {
    let svg = code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    write_private_file(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "TANDEM:AEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn the_png_reads_back_as_the_payload() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("code.png");
        write_png(TEXT, &png).unwrap();
        assert_eq!(tandem_phone::qr_image::read_qr_png(&png).unwrap(), TEXT);
        let svg = dir.path().join("code.svg");
        write_svg(TEXT, &svg).unwrap();
        assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<?xml"));
        let drawn = terminal(TEXT).unwrap();
        assert!(drawn.lines().count() > 10);
        assert!(drawn.contains('\u{2580}') || drawn.contains('\u{2584}'));
    }
}
