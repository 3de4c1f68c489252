//! The stored link (spec §4.5 step 4, [PAIR-08]): the companion's private
//! key, the primary key pinned at pairing ([RECON-03]), the account's name,
//! and the relay to reach it on, as one owner-only JSON file.

use serde::{Deserialize, Serialize};
use tandem_proto::companion::Credentials;
use tandem_proto::{PublicKey, StaticKeypair};

use crate::error::WebError;

/// The file format's version.
const VERSION: u32 = 1;

/// A companion's link to its primary, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Keys and account name, for the core.
    pub credentials: Credentials,
    /// The relay the primary is reached through.
    pub relay_url: String,
    /// This companion's device name, as the phone shows it.
    pub device_name: String,
    /// The phone's device name, from pairing.
    pub primary_device: String,
    /// When the link was made, Unix milliseconds on this machine.
    pub linked_at_ms: u64,
}

impl Link {
    /// This companion's device id (spec §9.2): `300c 9c96 03b9 2a4b`.
    pub fn device_id(&self) -> String {
        device_id(&self.credentials.identity.public())
    }
}

/// A device id in four groups of four hex digits (spec §9.2).
pub fn device_id(key: &PublicKey) -> String {
    let hex = key.fingerprint();
    let groups: Vec<&str> = (0..hex.len())
        .step_by(4)
        .filter_map(|at| hex.get(at..at + 4))
        .collect();
    groups.join(" ")
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    relay_url: String,
    device_name: String,
    account_name: String,
    primary_device: String,
    linked_at_ms: u64,
    /// Hex; the file is 0600 in a 0700 folder.
    companion_private_key: String,
    /// Hex.
    primary_key: String,
}

pub(crate) fn encode(link: &Link) -> Result<Vec<u8>, WebError> {
    let file = File {
        version: VERSION,
        relay_url: link.relay_url.clone(),
        device_name: link.device_name.clone(),
        account_name: link.credentials.account_name.clone(),
        primary_device: link.primary_device.clone(),
        linked_at_ms: link.linked_at_ms,
        companion_private_key: hex::encode(link.credentials.identity.private()),
        primary_key: hex::encode(link.credentials.primary_key.0),
    };
    let mut bytes =
        serde_json::to_vec_pretty(&file).map_err(|e| WebError::Invalid(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Link, String> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if file.version != VERSION {
        return Err(format!("unknown version {}", file.version));
    }
    let key = |name: &str, text: &str| -> Result<[u8; 32], String> {
        let bytes = hex::decode(text).map_err(|e| format!("{name}: {e}"))?;
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| format!("{name}: not 32 bytes"))
    };
    Ok(Link {
        credentials: Credentials {
            identity: StaticKeypair::from_private(key(
                "companion_private_key",
                &file.companion_private_key,
            )?),
            primary_key: PublicKey(key("primary_key", &file.primary_key)?),
            account_name: file.account_name,
        },
        relay_url: file.relay_url,
        device_name: file.device_name,
        primary_device: file.primary_device,
        linked_at_ms: file.linked_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_proto::random::SeededRandom;

    #[test]
    fn a_link_survives_encoding_and_bad_keys_are_refused() {
        let mut rng = SeededRandom::new(9);
        let link = Link {
            credentials: Credentials {
                identity: StaticKeypair::generate(&mut rng),
                primary_key: StaticKeypair::generate(&mut rng).public(),
                account_name: "Ada".into(),
            },
            relay_url: "ws://127.0.0.1:8080".into(),
            device_name: "Laptop".into(),
            primary_device: "Pixel".into(),
            linked_at_ms: 42,
        };
        assert_eq!(decode(&encode(&link).unwrap()).unwrap(), link);
        let text = String::from_utf8(encode(&link).unwrap()).unwrap();
        let short = text.replace(&hex::encode(link.credentials.primary_key.0), "abcd");
        assert!(
            decode(short.as_bytes())
                .unwrap_err()
                .contains("primary_key")
        );
        assert_eq!(link.device_id().len(), 19);
    }

    #[test]
    fn the_device_id_is_the_spec_example() {
        // Spec §9.2: RFC 7748 §6.1's first public key.
        let key = hex::decode("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
            .unwrap();
        let key = PublicKey(key.try_into().unwrap());
        assert_eq!(device_id(&key), "300c 9c96 03b9 2a4b");
    }
}
