//! Building the core's primary (spec §1.1) from the state folder: its key,
//! its store, the account names it sends in `PairInit` (§4.2), and the
//! clock its message timestamps come from (§7.1).

use tandem_client::Clock;
use tandem_proto::faults::Faults;
use tandem_proto::primary::{Primary, PrimaryConfig};

use crate::state::{State, StateError};
use crate::store::SqliteStore;

/// The phone's primary machine on its SQLite store.
pub type Phone = Primary<SqliteStore>;

/// A primary for this state folder. `register_route` is off for a primary
/// that only links a companion over a short connection of its own.
pub fn open_phone(state: &State, clock: &Clock, register_route: bool) -> Result<Phone, StateError> {
    open_phone_with_faults(state, clock, register_route, Faults::default())
}

/// [`open_phone`] with deliberate bugs switched on: the conformance
/// adapter's `--fault` (feature `faults`, for the runner's self-test).
pub(crate) fn open_phone_with_faults(
    state: &State,
    clock: &Clock,
    register_route: bool,
    faults: Faults,
) -> Result<Phone, StateError> {
    let identity = state.identity()?;
    let store = state.store()?;
    let account = store.account().map_err(|err| StateError::Key {
        path: state.store_paths().database,
        reason: err.0,
    })?;
    let config = PrimaryConfig {
        account_name: account.name,
        device_name: account.device_name,
        register_route,
        wall_clock_at_epoch_ms: clock.wall_at_epoch_ms(),
        faults,
        ..PrimaryConfig::default()
    };
    Ok(Primary::new(config, identity, store))
}
