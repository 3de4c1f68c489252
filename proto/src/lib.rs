//! The Tandem sans-IO protocol core: pairing and reconnect handshakes, the
//! encrypted session and the sync state machines, driven by bytes and time
//! in, bytes, timers and events out. No sockets, no clock, no filesystem.
//!
//! Filled by issue #5; the codec it builds on is `tandem-codec`.
