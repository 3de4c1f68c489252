//! `tandem-phone`, the reference primary (spec §1.1): the account and its
//! keys, the durable SQLite store, linking companions by QR code (§4),
//! serving them through the relay (§5, §7, §8, §9), and simulated contacts.
//!
//! One process at a time writes the event log: `serve` while it runs
//! (holding the state folder's writer lock), otherwise the short command
//! that took the lock. Other commands reach a running `serve` through its
//! control socket ([`control`]). The conformance adapter ([`adapter`],
//! spec §12.5) runs the same serving loop, with the runner as the person.

pub mod adapter;
pub mod cli;
pub mod commands;
pub mod control;
pub mod display;
pub mod phone;
pub mod qr_image;
pub mod serve;
pub mod state;
pub mod store;
