//! `tandem-conformance`: the conformance runner's command line (spec §12);
//! everything is in [`tandem_conformance::cli`].

fn main() -> std::process::ExitCode {
    tandem_conformance::cli::main()
}
