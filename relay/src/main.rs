//! The `onramp-relay` binary: see [`onramp_relay::cli`].

fn main() -> std::process::ExitCode {
    onramp_relay::cli::main()
}
