//! The Tandem conformance runner: tests implementations of each role
//! (companion, primary, relay, codec) against the spec in `spec/`
//! (§12 describes the cases, the verdicts, the reports and the adapter
//! protocols; §13 the vectors).
//!
//! - [`case`], [`verdict`], [`wirelog`]: what a case is, how it ends, and
//!   what it saw on the wire (§12.2–§12.4).
//! - [`runner`]: selects and runs cases with their seeds and time limits;
//!   [`report`] writes the terminal, JSON, JUnit XML and HTML reports;
//!   [`coverage`] says which requirements of each role no case checks.
//! - Targets: [`endpoint`] (a companion or a primary behind the endpoint
//!   adapter of §12.5, the runner as the relay and the other endpoint),
//!   [`relay`] (the runner as companions, primaries and hostile clients,
//!   §12.6) and [`codec`] (the vectors through a codec adapter, §12.7);
//!   [`adapter`] and [`command`] start and drive their processes.
//! - [`cli`]: the `tandem-conformance` command line.
//!
//! Every conformance case names the requirement ids (`[PREFIX-NN]`) it
//! checks. Those ids, with their level, section and text, come from the
//! requirement index `spec/requirements.json`, which [`requirements`]
//! extracts from the spec's Markdown and checks for consistency:
//!
//! ```no_run
//! use tandem_conformance::requirements;
//!
//! let files = requirements::load_spec(&requirements::default_spec_dir())?;
//! let analysis = requirements::analyze(&files);
//! assert!(analysis.problems().is_empty());
//! println!("{} requirements", analysis.index.requirements.len());
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod adapter;
pub mod case;
pub mod cli;
pub mod codec;
pub mod command;
pub mod coverage;
pub mod endpoint;
pub mod expected;
pub mod pattern;
pub mod relay;
pub mod report;
pub mod requirements;
pub mod roles;
pub mod runner;
pub mod spec_index;
pub mod verdict;
pub mod wirelog;
