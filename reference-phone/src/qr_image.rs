//! Reading a companion's QR code from a PNG image, as a phone camera would
//! (spec §4.1): `rqrr` finds and decodes the code, and the text goes to
//! the same strict parser as a pasted payload ([QR-02]–[QR-05]).

use std::path::{Path, PathBuf};

/// Why no QR text came out of an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrImageError {
    /// The file could not be read or is not a PNG image.
    #[error("cannot read the image {path}: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No QR code was found in the image.
    #[error("no QR code found in {0}")]
    NotFound(PathBuf),
    /// A QR code was found but could not be decoded.
    #[error("the QR code in {path} could not be read: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Bounds on the image, so that a hostile file cannot exhaust memory.
const MAX_SIDE: u32 = 8_192;

/// The text of the first QR code found in the PNG at `path`.
pub fn read_qr_png(path: &Path) -> Result<String, QrImageError> {
    let image_error = |reason: String| QrImageError::Image {
        path: path.to_owned(),
        reason,
    };
    let mut reader = image::ImageReader::open(path)
        .map_err(|err| image_error(err.to_string()))?
        .with_guessed_format()
        .map_err(|err| image_error(err.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let luma = reader
        .decode()
        .map_err(|err| image_error(err.to_string()))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let grids = prepared.detect_grids();
    let Some(grid) = grids.first() else {
        return Err(QrImageError::NotFound(path.to_owned()));
    };
    let (_meta, text) = grid.decode().map_err(|err| QrImageError::Unreadable {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    Ok(text)
}
