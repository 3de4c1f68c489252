//! The `tandem-web` binary: the command line of the reference companion
//! (spec §4 pairing, §7 sync, §8 media, §9.4 unlinking) and the demo; all
//! of it lives in the library ([`tandem_web::cli`]).

fn main() -> std::process::ExitCode {
    tandem_web::cli::main()
}
