//! The `tandem-phone` binary: a thin shell over the library's command line
//! (spec §4 linking, §7 sync, §9 devices); see `tandem_phone::cli`.

fn main() -> std::process::ExitCode {
    tandem_phone::cli::main()
}
