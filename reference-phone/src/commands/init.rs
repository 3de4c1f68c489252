//! `init`: creates the account (spec §1.1: the primary owns the identity
//! key and the store), owner-only, and seeds the simulated contacts with
//! their chats (§7.1) so that every flow can be tried at once.

use tandem_client::Clock;
use tandem_codec::session::Body;
use tandem_proto::primary::{Primary, PrimaryConfig};

use super::CommandError;
use crate::state::State;
use crate::store::Account;

/// What `init` made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOutcome {
    /// The primary key, hex (names the route, spec §3.4).
    pub primary_key: String,
    /// The contacts seeded.
    pub contacts: Vec<String>,
}

/// The contacts a new phone starts with: the echo, the ticker, a person.
pub const SEED_CONTACTS: [&str; 3] = ["Echo", "Clock", "Ada Lovelace"];

/// Creates the account in `state`, with `seed` contacts or none.
pub fn init(state: &State, account: &Account, seed: bool) -> Result<InitOutcome, CommandError> {
    let (identity, store) = state.init(account)?;
    let primary_key = identity.public().to_string();
    let _lock = state.try_lock_writer()?.ok_or_else(|| {
        CommandError::Invalid("another process holds the new state folder".into())
    })?;
    let clock = Clock::start();
    let config = PrimaryConfig {
        account_name: account.name.clone(),
        device_name: account.device_name.clone(),
        register_route: false,
        wall_clock_at_epoch_ms: clock.wall_at_epoch_ms(),
        ..PrimaryConfig::default()
    };
    let mut phone = Primary::new(config, identity, store);
    let mut contacts = Vec::new();
    if seed {
        let mut ids = Vec::new();
        for name in SEED_CONTACTS {
            ids.push(phone.add_contact(clock.now(), name)?);
            contacts.push(name.to_owned());
        }
        if let Some(&person) = ids.last() {
            let welcome =
                "Welcome to Tandem! Messages to Echo come back; Clock writes now and then.";
            phone.receive_message(clock.now(), person, Body::Text(welcome.into()))?;
        }
    }
    Ok(InitOutcome {
        primary_key,
        contacts,
    })
}
