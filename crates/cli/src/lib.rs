//! The `berth` CLI: docker's commands and flags parsed with clap, run as calls of
//! [`berth_client`], and their answers printed as docker prints them (tables, Go templates,
//! TTY streams).
#![recursion_limit = "256"]

#[macro_use]
mod output;
pub mod commands;
pub mod error;
pub mod format;
pub mod progress;
mod signals;
pub mod stream;
mod tty;

use clap::Parser;

/// Runs the command line of this process and exits with docker's status.
pub fn main() -> ! {
    let cli = match commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                // docker exits 125 on flag errors.
                _ => 125,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // One thread: a command is a few requests and streams; worker threads would only add
    // start-up time.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match rt.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            let (code, msg) = error::exit_status(&e);
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            code
        }
    };
    // Exit without waiting for the runtime: a stdin reader thread may still be blocked.
    std::process::exit(code);
}
