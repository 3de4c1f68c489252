//! The Noise parameters Tandem mandates (spec §4.2, §5.1): one pattern per
//! handshake, one suite, the prologues that bind version and context, and
//! the check code derived from the handshake hash (spec §4.3).

use sha2::{Digest, Sha256};

/// The pairing handshake (spec §4.2): the primary initiates.
pub const PAIRING_PROTOCOL: &str = "Noise_IKpsk2_25519_AESGCM_SHA256";
/// The reconnect handshake (spec §5.1): the companion initiates.
pub const RECONNECT_PROTOCOL: &str = "Noise_IK_25519_AESGCM_SHA256";

/// Label of the pairing prologue ([PAIR-02]).
pub const PAIRING_PROLOGUE_LABEL: &[u8] = b"tandem/1 pair";
/// Label of the reconnect prologue ([RECON-02]).
pub const RECONNECT_PROLOGUE_LABEL: &[u8] = b"tandem/1 reconnect";
/// Label of the check-code digest (spec §4.3).
pub const CHECK_CODE_LABEL: &[u8] = b"tandem/1 check-code";

/// Largest Noise message.
pub const MAX_MESSAGE: usize = 65_535;

/// [PAIR-02] The prologue MUST be the 13 ASCII bytes `tandem/1 pair`
/// followed by the 16-byte `channel_id`.
pub fn pairing_prologue(channel_id: &[u8; 16]) -> Vec<u8> {
    [PAIRING_PROLOGUE_LABEL, channel_id.as_slice()].concat()
}

/// [RECON-02] The prologue MUST be the 18 ASCII bytes `tandem/1 reconnect`
/// followed by the 32-byte primary key.
pub fn reconnect_prologue(primary_key: &[u8; 32]) -> Vec<u8> {
    [RECONNECT_PROLOGUE_LABEL, primary_key.as_slice()].concat()
}

/// The six-digit check code both devices show (spec §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckCode(u32);

impl CheckCode {
    /// Derives the code from the handshake hash `h`:
    /// `u32_be(SHA-256("tandem/1 check-code" || h)[0..4]) mod 1_000_000`.
    pub fn from_handshake_hash(h: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(CHECK_CODE_LABEL)
            .chain_update(h)
            .finalize();
        let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        Self(first % 1_000_000)
    }

    /// The code as a number below 1,000,000.
    pub fn value(self) -> u32 {
        self.0
    }

    /// Six digits with leading zeros, as the vectors write it: `042917`.
    pub fn digits(self) -> String {
        format!("{:06}", self.0)
    }
}

impl std::fmt::Display for CheckCode {
    /// Two groups of three, as people see it: `042 917`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03} {:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// Test-only knobs for reproducing vectors: fixed ephemeral keys.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HandshakeOptions {
    /// Use this private key as our ephemeral instead of a fresh one. Only
    /// for vectors and the worked example; a fixed ephemeral destroys
    /// forward secrecy.
    pub fixed_ephemeral: Option<[u8; 32]>,
}

pub(crate) fn params(protocol: &str) -> snow::params::NoiseParams {
    match protocol.parse() {
        Ok(params) => params,
        // Both names are constants above, checked by the tests.
        Err(_) => unreachable!("invalid Noise protocol name {protocol}"),
    }
}

pub(crate) fn builder<'a>(
    protocol: &str,
    prologue: &'a [u8],
    local_private: &'a [u8; 32],
    options: &'a HandshakeOptions,
) -> Result<snow::Builder<'a>, snow::Error> {
    let mut builder = snow::Builder::new(params(protocol))
        .prologue(prologue)?
        .local_private_key(local_private)?;
    if let Some(ephemeral) = &options.fixed_ephemeral {
        builder = builder.fixed_ephemeral_key_for_testing_only(ephemeral);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_parse() {
        params(PAIRING_PROTOCOL);
        params(RECONNECT_PROTOCOL);
    }

    #[test]
    fn check_code_formats_with_leading_zeros() {
        let code = CheckCode(42_917);
        assert_eq!(code.digits(), "042917");
        assert_eq!(code.to_string(), "042 917");
        let derived = CheckCode::from_handshake_hash(&[0u8; 32]);
        assert!(derived.value() < 1_000_000);
        assert_ne!(derived, CheckCode::from_handshake_hash(&[1u8; 32]));
    }

    #[test]
    fn prologues_have_the_spec_lengths() {
        assert_eq!(pairing_prologue(&[0; 16]).len(), 13 + 16);
        assert_eq!(reconnect_prologue(&[0; 32]).len(), 18 + 32);
    }
}
