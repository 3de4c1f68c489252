//! The adapter protocols' common ground (spec §12.5.2, §12.7): bounded
//! lines, and a child process driven one line at a time. The codec target
//! uses it now; the endpoint adapter of the companion and primary targets
//! will use the same process handling.

pub mod lines;
pub mod process;
