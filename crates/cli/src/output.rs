//! Printing to stdout. SIGPIPE stays ignored (so a daemon closing a socket is an error, not
//! death), and a closed stdout (`berth ps | head -1`) ends the process quietly with 141, as a
//! Go program killed by SIGPIPE would, instead of `println!` panicking.

use std::io::Write;

pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}

/// `print!` that survives a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::output::write_stdout(format_args!($($t)*))
    };
}

/// `println!` that survives a closed stdout.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}
