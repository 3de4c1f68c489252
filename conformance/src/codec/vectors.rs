//! The codec vector files of spec §13.2 (`spec/vectors/*.json`, schema
//! `tandem-codec-vectors/1`), as the codec target reads them: compiled into
//! the runner, or read from a folder with `--vectors`.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// The codec vector files, in the order their cases run.
pub const FILES: [&str; 4] = [
    "envelope.json",
    "session.json",
    "handshake-payloads.json",
    "qr.json",
];

/// The schema of a codec vector file.
pub const SCHEMA: &str = "tandem-codec-vectors/1";

const EMBEDDED: [&str; 4] = [
    include_str!("../../../spec/vectors/envelope.json"),
    include_str!("../../../spec/vectors/session.json"),
    include_str!("../../../spec/vectors/handshake-payloads.json"),
    include_str!("../../../spec/vectors/qr.json"),
];

/// One file.
#[derive(Clone, Debug, Deserialize)]
pub struct VectorFile {
    /// [`SCHEMA`].
    pub schema: String,
    /// `envelope`, `session`, `handshake_payload` or `qr`.
    pub layer: String,
    /// Its vectors.
    pub vectors: Vec<Vector>,
}

/// One codec vector (§13.2). Members this version does not know are
/// ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Vector {
    /// Stable id; the case is `codec.<id>`.
    pub id: String,
    /// What it shows.
    pub comment: String,
    /// Which decoder reads `input`.
    pub decoder: String,
    /// Hex, or the QR text for `qr`.
    pub input: String,
    /// `valid` or `invalid`.
    pub result: String,
    /// Valid vectors: the JSON form.
    #[serde(default)]
    pub decoded: Option<Value>,
    /// Invalid vectors: the error kind.
    #[serde(default)]
    pub error: Option<String>,
    /// Invalid vectors: the offset.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Invalid vectors: the wire code, or `null` for QR.
    #[serde(default)]
    pub wire_code: Option<u16>,
    /// Edge-case flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Requirement ids it exercises.
    #[serde(default)]
    pub requirements: Vec<String>,
}

impl Vector {
    /// Whether the vector is valid.
    pub fn is_valid(&self) -> bool {
        self.result == "valid"
    }
}

/// Why vectors could not be loaded.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

fn parse(name: &str, text: &str) -> Result<Vec<Vector>, LoadError> {
    let file: VectorFile =
        serde_json::from_str(text).map_err(|e| LoadError(format!("{name}: {e}")))?;
    if file.schema != SCHEMA {
        return Err(LoadError(format!(
            "{name}: schema {} is not {SCHEMA}",
            file.schema
        )));
    }
    Ok(file.vectors)
}

/// The vectors compiled into the runner.
pub fn embedded() -> Result<Vec<Vector>, LoadError> {
    let mut all = Vec::new();
    for (name, text) in FILES.iter().zip(EMBEDDED) {
        all.extend(parse(name, text)?);
    }
    Ok(all)
}

/// The vectors of the files in `dir`.
pub fn load(dir: &Path) -> Result<Vec<Vector>, LoadError> {
    let mut all = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| LoadError(format!("{}: {e}", path.display())))?;
        all.extend(parse(name, &text)?);
    }
    Ok(all)
}
