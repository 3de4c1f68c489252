//! Randomness comes in through one small trait, so that drivers use the
//! operating system's generator and tests use a seeded one. Keys, pairing
//! secrets and client ids are drawn from it (spec [QR-01]).

/// A source of random bytes. Implementations for real use MUST be
/// cryptographically secure.
pub trait Random: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's generator (through snow's resolver, which uses
/// `getrandom`).
pub struct OsRandom(Box<dyn snow::types::Random>);

impl OsRandom {
    /// Opens the system generator.
    pub fn new() -> Result<Self, crate::Error> {
        use snow::resolvers::CryptoResolver;
        snow::resolvers::DefaultResolver
            .resolve_rng()
            .map(Self)
            .ok_or(crate::Error::NoRandom)
    }
}

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // getrandom only fails when the platform has no generator at all,
        // which `new` has already ruled out; a zeroed buffer would be a
        // silent catastrophe, so failing loudly is the only safe answer.
        if self.0.try_fill_bytes(dest).is_err() {
            panic!("the operating system's random generator failed");
        }
    }
}

/// Draws an array of random bytes.
pub fn array<const N: usize>(rng: &mut dyn Random) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill(&mut out);
    out
}

/// A deterministic generator for tests and vectors (SplitMix64). Not
/// cryptographically secure: never use it for real keys.
#[doc(hidden)]
pub struct SeededRandom(u64);

impl SeededRandom {
    /// A generator that yields the same bytes for the same seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
