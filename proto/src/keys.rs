//! Static X25519 identities (spec §1.5): the primary key that names a route
//! and the companion key that names a device, and the fingerprint people
//! see (spec §9).

use sha2::{Digest, Sha256};
use snow::resolvers::CryptoResolver;

use crate::random::{self, Random};

/// A static X25519 key pair. The private half never leaves the device.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeypair {
    private: [u8; 32],
    public: PublicKey,
}

/// A static X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; 32]);

impl StaticKeypair {
    /// Generates a new key pair from `rng`.
    pub fn generate(rng: &mut dyn Random) -> Self {
        Self::from_private(random::array(rng))
    }

    /// Rebuilds a key pair from its stored private half.
    pub fn from_private(private: [u8; 32]) -> Self {
        let public = PublicKey(x25519_public(&private));
        Self { private, public }
    }

    /// The private half, for storage by the driver (owner-only files).
    pub fn private(&self) -> &[u8; 32] {
        &self.private
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// X25519 of our private key with `peer`; all zeros for a low-order
    /// point, which callers must reject.
    pub(crate) fn diffie_hellman(&self, peer: &[u8; 32]) -> [u8; 32] {
        let mut dh = curve25519();
        dh.set(&self.private);
        let mut out = [0u8; 32];
        // Fails only on a wrong output length, which is fixed here.
        if dh.dh(peer, &mut out).is_err() {
            return [0u8; 32];
        }
        out
    }
}

impl std::fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeypair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The fingerprint shown to people and used as a device id: the first 8
    /// bytes of SHA-256 of the key, in hex (spec §9).
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0);
        hex::encode(&digest[..8])
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

fn curve25519() -> Box<dyn snow::types::Dh> {
    match snow::resolvers::DefaultResolver.resolve_dh(&snow::params::DHChoice::Curve25519) {
        Some(dh) => dh,
        // The crate is built with `use-curve25519`; without it nothing in
        // Tandem can work, so this is a build error caught by every test.
        None => unreachable!("snow was built without Curve25519"),
    }
}

fn x25519_public(private: &[u8; 32]) -> [u8; 32] {
    let mut dh = curve25519();
    dh.set(private);
    let mut public = [0u8; 32];
    public.copy_from_slice(dh.pubkey());
    public
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn diffie_hellman_agrees_and_fingerprint_is_stable() {
        let mut rng = SeededRandom::new(1);
        let a = StaticKeypair::generate(&mut rng);
        let b = StaticKeypair::generate(&mut rng);
        assert_ne!(a.public(), b.public());
        assert_eq!(
            a.diffie_hellman(&b.public().0),
            b.diffie_hellman(&a.public().0)
        );
        assert_eq!(a.public().fingerprint().len(), 16);
        assert_eq!(StaticKeypair::from_private(*a.private()), a);
    }

    #[test]
    fn low_order_point_gives_zeros() {
        let a = StaticKeypair::generate(&mut SeededRandom::new(2));
        assert_eq!(a.diffie_hellman(&[0u8; 32]), [0u8; 32]);
    }
}
