//! The primary's proof that it owns its route (spec §3.4): an HMAC keyed
//! with X25519 of its static key and the relay's fresh ephemeral key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::StaticKeypair;

/// The label of the route-proof MAC (20 ASCII bytes).
pub const ROUTE_PROOF_LABEL: &[u8] = b"tandem/1 route-proof";

/// The primary computes its `RouteProof.mac` for a `RouteChallenge`.
/// Returns `None` when the relay's key is a low-order point.
pub fn prove(identity: &StaticKeypair, relay_ephemeral: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = identity.diffie_hellman(relay_ephemeral);
    mac(&shared, &identity.public().0, relay_ephemeral)
}

/// The relay checks a proof with its ephemeral private key
/// ([RLY-08]: constant-time comparison, all-zero shared secret refused).
pub fn verify(relay_ephemeral: &StaticKeypair, primary_key: &[u8; 32], proof: &[u8; 32]) -> bool {
    let shared = relay_ephemeral.diffie_hellman(primary_key);
    match keyed(&shared, primary_key, &relay_ephemeral.public().0) {
        // `verify_slice` compares in constant time.
        Some(mac) => mac.verify_slice(proof).is_ok(),
        None => false,
    }
}

fn mac(shared: &[u8; 32], primary_key: &[u8; 32], relay_ephemeral: &[u8; 32]) -> Option<[u8; 32]> {
    Some(
        keyed(shared, primary_key, relay_ephemeral)?
            .finalize()
            .into_bytes()
            .into(),
    )
}

/// The MAC state over the label, primary key and relay ephemeral, keyed
/// with the shared secret; `None` for an all-zero (low-order) secret.
fn keyed(
    shared: &[u8; 32],
    primary_key: &[u8; 32],
    relay_ephemeral: &[u8; 32],
) -> Option<Hmac<Sha256>> {
    if shared == &[0u8; 32] {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(shared).ok()?;
    mac.update(ROUTE_PROOF_LABEL);
    mac.update(primary_key);
    mac.update(relay_ephemeral);
    Some(mac)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn proof_verifies_only_for_the_key_holder() {
        let mut rng = SeededRandom::new(7);
        let primary = StaticKeypair::generate(&mut rng);
        let impostor = StaticKeypair::generate(&mut rng);
        let relay = StaticKeypair::generate(&mut rng);
        let proof = prove(&primary, &relay.public().0).unwrap();
        assert!(verify(&relay, &primary.public().0, &proof));
        let forged = prove(&impostor, &relay.public().0).unwrap();
        assert!(!verify(&relay, &primary.public().0, &forged));
        assert!(!verify(&relay, &[0u8; 32], &proof));
        assert_eq!(prove(&primary, &[0u8; 32]), None);
    }
}
