//! Why the adapter stopped with an error (spec §12.5.5: any exit status
//! but 0 after `quit`, and never 3, which would claim "not implemented").

use crate::commands::CommandError;
use crate::serve::ServeError;

/// Why the adapter could not run or stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The state folder could not be given an account.
    #[error("cannot create the phone in the state folder: {0}")]
    Init(#[from] CommandError),
    /// The serving loop could not start or failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The serving loop stopped on its own.
    #[error("the serving phone stopped unexpectedly")]
    Stopped,
    /// The serving loop did not stop in time after `quit`.
    #[error("the serving phone did not stop in time")]
    StopTimeout,
}
