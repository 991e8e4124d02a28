//! `berth-shim`: parses its arguments and hands them to the library.

fn main() {
    let code = match berth_shim::args::parse(std::env::args().skip(1)) {
        Ok(args) => berth_shim::start(args),
        Err(e) => berth_shim::refuse(&e),
    };
    std::process::exit(code);
}
