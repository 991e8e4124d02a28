//! Docker's JSON progress streams (pull, push, load) printed as the docker CLI prints them
//! (moby's `jsonmessage.DisplayJSONMessagesStream`): on a terminal each layer keeps one line,
//! redrawn in place with its bar; otherwise one plain line per message, byte counts left out.

use std::collections::HashMap;
use std::io::Write;

use berth_api::progress::{ProgressDetail, ProgressMessage};
use berth_client::JsonStream;

use crate::format::units::human_size_precision;

/// Where progress is drawn, and how.
pub struct ProgressPrinter<W: Write> {
    out: W,
    terminal: bool,
    /// Terminal width, for the bar.
    width: usize,
    /// The line each layer id was given, counted from the first of this block.
    lines: HashMap<String, usize>,
}

impl<W: Write> ProgressPrinter<W> {
    pub fn new(out: W, terminal: bool, width: usize) -> Self {
        ProgressPrinter {
            out,
            terminal,
            width,
            lines: HashMap::new(),
        }
    }

    /// Prints one message; a failure in the stream is returned as the error.
    pub fn print(&mut self, m: &ProgressMessage) -> anyhow::Result<()> {
        if let Some(e) = m.failure() {
            anyhow::bail!("{e}");
        }
        if m.aux.is_some() {
            return Ok(());
        }
        let has_progress = m.progress_detail.is_some() || !m.progress.is_empty();
        let mut down = None;
        if !m.id.is_empty() && has_progress {
            let n = self.lines.len();
            let line = *self.lines.entry(m.id.clone()).or_insert(n);
            if line == n && self.terminal {
                writeln!(self.out)?;
            }
            let diff = self.lines.len() - line;
            if self.terminal {
                write!(self.out, "\x1b[{diff}A")?;
                down = Some(diff);
            }
        } else {
            // Something that is not a layer's line ends the block being redrawn.
            self.lines.clear();
        }
        self.display(m)?;
        if let Some(diff) = down {
            write!(self.out, "\x1b[{diff}B")?;
        }
        self.out.flush()?;
        Ok(())
    }

    fn display(&mut self, m: &ProgressMessage) -> std::io::Result<()> {
        let bar = m
            .progress_detail
            .as_ref()
            .map(|d| progress_bar(d, self.width))
            .unwrap_or_default();
        let mut endl = "";
        if self.terminal && m.stream.is_empty() && m.progress_detail.is_some() {
            write!(self.out, "\x1b[2K\r")?;
            endl = "\r";
        } else if !bar.is_empty() {
            // Byte counts are for terminals only.
            return Ok(());
        }
        if !m.id.is_empty() {
            write!(self.out, "{}: ", m.id)?;
        }
        if m.progress_detail.is_some() && self.terminal {
            write!(self.out, "{} {bar}{endl}", m.status)
        } else if !m.progress.is_empty() {
            write!(self.out, "{} {}{endl}", m.status, m.progress)
        } else if !m.stream.is_empty() {
            write!(self.out, "{}{endl}", m.stream)
        } else {
            writeln!(self.out, "{}{endl}", m.status)
        }
    }
}

/// `[=====>      ]  1.23MB/4.56MB` as moby's `JSONProgress.String` draws it (the bar only
/// on terminals wider than 110 columns); empty when there are no counts.
pub fn progress_bar(d: &ProgressDetail, width: usize) -> String {
    if d.current <= 0 && d.total <= 0 {
        return String::new();
    }
    let current = human_size_precision(d.current as f64, 4);
    if d.total <= 0 {
        return format!("{current:>8}");
    }
    let total = human_size_precision(d.total as f64, 4);
    let percentage = ((d.current as f64 / d.total as f64 * 100.0) as i64 / 2).clamp(0, 50) as usize;
    let bar = if width > 110 {
        format!(
            "[{}>{}] ",
            "=".repeat(percentage),
            " ".repeat(50 - percentage)
        )
    } else {
        String::new()
    };
    let numbers = if d.current > d.total {
        String::new()
    } else {
        format!("{current:>8}/{total}")
    };
    bar + &numbers
}

/// Prints a whole stream to stdout (stderr for `to_stderr`), as docker does for pull, push
/// and load; returns the `aux` payloads seen.
pub async fn print_stream(
    mut stream: JsonStream<ProgressMessage>,
    quiet: bool,
    to_stderr: bool,
) -> anyhow::Result<Vec<serde_json::Value>> {
    use std::io::IsTerminal;
    let terminal = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let width = crate::tty::window_size().map_or(80, |(_, cols)| cols as usize);
    let out: Box<dyn Write> = if quiet {
        Box::new(std::io::sink())
    } else if to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(StdoutWriter)
    };
    let mut printer = ProgressPrinter::new(out, terminal, width);
    let mut aux = Vec::new();
    while let Some(m) = stream.next().await? {
        if let Some(a) = &m.aux {
            aux.push(a.clone());
        }
        printer.print(&m)?;
    }
    Ok(aux)
}

/// Stdout through the CLI's writer that survives a closed pipe.
struct StdoutWriter;

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        out!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(lines: &[&str]) -> Vec<ProgressMessage> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    const PULL: &[&str] = &[
        r#"{"status":"Pulling from library/busybox","id":"latest"}"#,
        r#"{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}"#,
        r#"{"status":"Pulling fs layer","progressDetail":{},"id":"bbb"}"#,
        r#"{"status":"Downloading","progressDetail":{"current":1000,"total":2000},"id":"aaa"}"#,
        r#"{"status":"Pull complete","progressDetail":{},"id":"aaa"}"#,
        r#"{"status":"Pull complete","progressDetail":{},"id":"bbb"}"#,
        r#"{"status":"Digest: sha256:abc"}"#,
    ];

    fn render(terminal: bool) -> String {
        let mut out = Vec::new();
        let mut p = ProgressPrinter::new(&mut out, terminal, 120);
        for m in msgs(PULL) {
            p.print(&m).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_output_skips_byte_counts() {
        assert_eq!(
            render(false),
            "latest: Pulling from library/busybox\naaa: Pulling fs layer\nbbb: Pulling fs layer\n\
             aaa: Pull complete\nbbb: Pull complete\nDigest: sha256:abc\n"
        );
    }

    #[test]
    fn a_terminal_redraws_each_layer_on_its_line() {
        let t = render(true);
        // Layer aaa's download is drawn two lines up (bbb is below it), then back down.
        assert!(
            t.contains("\x1b[2A\x1b[2K\raaa: Downloading [=========================>                         ]      1kB/2kB\r\x1b[2B"),
            "{t:?}"
        );
        assert!(
            t.contains("\x1b[1A\x1b[2K\rbbb: Pull complete \r\x1b[1B"),
            "{t:?}"
        );
        assert!(t.ends_with("Digest: sha256:abc\n"), "{t:?}");
    }

    #[test]
    fn failures_end_the_stream() {
        let mut out = Vec::new();
        let mut p = ProgressPrinter::new(&mut out, false, 80);
        let m: ProgressMessage =
            serde_json::from_str(r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#).unwrap();
        assert_eq!(p.print(&m).unwrap_err().to_string(), "boom");
    }
}
