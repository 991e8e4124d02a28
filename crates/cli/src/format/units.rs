//! Sizes, durations and strings printed the way docker's Go code does (go-units, strconv).

use unicode_width_shim::width;

pub use berth_api::units::human_duration;

/// "2 minutes ago" for a unix timestamp, relative to `now`.
pub fn ago(created: i64, now: i64) -> String {
    format!("{} ago", human_duration((now - created).max(0) as f64))
}

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn custom_size(size: f64, precision: usize, base: f64, units: &[&str]) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    format!("{}{}", go_g(size, precision), units[i])
}

/// go-units `HumanSizeWithPrecision`: decimal units ("4.26MB" with precision 3).
pub fn human_size_precision(size: f64, precision: usize) -> String {
    custom_size(size, precision, 1000.0, &DECIMAL)
}

/// go-units `HumanSize` (precision 4).
pub fn human_size(size: f64) -> String {
    human_size_precision(size, 4)
}

/// go-units `BytesSize`: binary units with precision 4 ("488KiB", "23.54GiB").
pub fn bytes_size(size: f64) -> String {
    custom_size(size, 4, 1024.0, &BINARY)
}

/// Go's `%.{prec}g`.
pub fn go_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let p = prec.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// docker's `formatter.Ellipsis`: cut to `max` display columns, the last being "…".
pub fn ellipsis(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width(&c.to_string());
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Short IDs: strip `sha256:` and keep 12 hex digits.
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// Display width without pulling a crate in: wide East Asian ranges count 2, the rest 1.
mod unicode_width_shim {
    pub fn width(s: &str) -> usize {
        s.chars()
            .map(|c| {
                let u = c as u32;
                let wide = (0x1100..=0x115F).contains(&u)
                    || (0x2E80..=0xA4CF).contains(&u)
                    || (0xAC00..=0xD7A3).contains(&u)
                    || (0xF900..=0xFAFF).contains(&u)
                    || (0xFE30..=0xFE4F).contains(&u)
                    || (0xFF00..=0xFF60).contains(&u)
                    || (0xFFE0..=0xFFE6).contains(&u)
                    || (0x1F300..=0x1F64F).contains(&u)
                    || (0x20000..=0x3FFFD).contains(&u);
                if wide {
                    2
                } else {
                    1
                }
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(0.3), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(5.0), "5 seconds");
        assert_eq!(human_duration(60.0), "About a minute");
        assert_eq!(human_duration(119.0), "About a minute");
        assert_eq!(human_duration(120.0), "2 minutes");
        assert_eq!(human_duration(3600.0), "About an hour");
        assert_eq!(human_duration(3.0 * 3600.0), "3 hours");
        assert_eq!(human_duration(3.0 * 86400.0), "3 days");
        assert_eq!(human_duration(20.0 * 86400.0), "2 weeks");
        assert_eq!(human_duration(90.0 * 86400.0), "3 months");
        assert_eq!(human_duration(800.0 * 86400.0), "2 years");
        assert_eq!(ago(100, 220), "2 minutes ago");
        assert_eq!(ago(100, 101), "1 second ago");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size_precision(1985512.0, 3), "1.99MB");
        assert_eq!(human_size_precision(4_260_000.0, 3), "4.26MB");
        assert_eq!(human_size_precision(1416.0, 3), "1.42kB");
        assert_eq!(human_size_precision(0.0, 3), "0B");
        assert_eq!(human_size_precision(999.0, 3), "999B");
        assert_eq!(human_size_precision(1000.0, 3), "1kB");
        assert_eq!(human_size(1_500_000_000.0), "1.5GB");
        assert_eq!(bytes_size(499_712.0), "488KiB");
        assert_eq!(bytes_size(25_276_502_016.0), "23.54GiB");
        assert_eq!(bytes_size(0.0), "0B");
    }

    #[test]
    fn go_g_matches_go() {
        assert_eq!(go_g(1.985512, 3), "1.99");
        assert_eq!(go_g(100.0, 3), "100");
        assert_eq!(go_g(999.6, 3), "1e+03");
        assert_eq!(go_g(0.00001234, 3), "1.23e-05");
        assert_eq!(go_g(2.0, 4), "2");
        assert_eq!(go_g(23.5404, 4), "23.54");
    }

    #[test]
    fn quoting_and_ellipsis() {
        let cmd = "sh -c 'echo out; echo err >&2; sleep 1000'";
        assert_eq!(
            berth_errdefs::go_quote(&ellipsis(cmd, 20)),
            "\"sh -c 'echo out; ec…\""
        );
        assert_eq!(ellipsis("short", 20), "short");
        assert_eq!(berth_errdefs::go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(short_id("sha256:b17529137f4b0123456789"), "b17529137f4b");
    }
}
