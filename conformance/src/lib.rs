//! The Tandem conformance runner: tests implementations of each role
//! (companion, primary, relay, codec) against the spec in `spec/`
//! (§12 describes the cases, the verdicts and the adapter protocol).
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

pub mod requirements;
