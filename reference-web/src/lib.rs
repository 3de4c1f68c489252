//! `tandem-web`, the reference companion in the terminal (spec §1.1): it
//! pairs with a phone by QR code (§4), reconnects and resumes (§5, §7),
//! sends, reads, uploads and downloads (§7, §8), unlinks (§9.4), and runs
//! the whole system in one process as a demo.
//!
//! It holds its own keys, the phone's pinned key and the queue of sends
//! not yet answered, in an owner-only state folder ([`state`]); messages
//! and media stay on the phone. The protocol is `tandem-proto`'s
//! [`Companion`](tandem_proto::companion::Companion), driven by
//! `tandem-client`; this crate is the person's side of it.

pub mod adapter;
pub mod cli;
pub mod commands;
pub mod console;
pub mod demo;
pub mod error;
pub mod format;
pub mod lookup;
pub mod media;
pub mod pair;
pub mod qr;
pub mod reasons;
pub mod session;
pub mod state;
pub mod tui;
