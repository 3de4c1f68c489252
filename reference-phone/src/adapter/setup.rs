//! The phone behind the adapter (spec §12.5.1, [CONF-05]): everything lives
//! in `{state_dir}`; a folder without a phone gets one, like
//! `tandem-phone init`, without the simulated contacts, which would write
//! on their own.

use crate::commands;
use crate::state::State;
use crate::store::Account;

use super::AdapterError;

/// The device name the adapter's phone sends in `PairInit` (§4.2).
pub const DEVICE_NAME: &str = "Tandem phone";

/// Creates the account when the folder holds none; returns whether it did.
pub(crate) fn ensure_account(state: &State, account_name: &str) -> Result<bool, AdapterError> {
    if state.key_path().exists() {
        return Ok(false);
    }
    let account = Account {
        name: account_name.to_owned(),
        device_name: DEVICE_NAME.to_owned(),
    };
    commands::init(state, &account, false)?;
    Ok(true)
}
