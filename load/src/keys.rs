//! Deterministic keys, so that separate processes agree on who is paired
//! with whom without exchanging anything: a pair is a seed and an index.
//! Loopback benchmarks only; real keys come from the OS generator.

use tandem_proto::StaticKeypair;
use tandem_proto::random::SeededRandom;

/// Which end of a pair.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    Primary,
    Companion,
}

/// The key of one end of pair `index` of run `seed`.
pub(crate) fn key(seed: u64, role: Role, index: u64) -> StaticKeypair {
    let role = match role {
        Role::Primary => 1,
        Role::Companion => 2,
    };
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(role);
    StaticKeypair::generate(&mut SeededRandom::new(mixed))
}

/// A seed for this run (distinct keys per run, so routes never collide
/// with a previous run's on a relay that is still closing them).
pub(crate) fn run_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_differ_and_repeat() {
        let a = key(7, Role::Primary, 3).public();
        assert_eq!(a, key(7, Role::Primary, 3).public());
        assert_ne!(a, key(7, Role::Companion, 3).public());
        assert_ne!(a, key(7, Role::Primary, 4).public());
    }
}
