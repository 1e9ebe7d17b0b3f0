//! Reading the summary `hey -c N -z T -cpus 1 URL` prints (Debian's hey, which has no version
//! flag).

use super::output::{Output, number};

/// The part of hey's summary a line belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    /// Anywhere else.
    Other,
    /// `Latency distribution:`, lines `50% in 0.0047 secs`.
    Latency,
    /// `Status code distribution:`, lines `[200]<tab>56721 responses`.
    Status,
    /// `Error distribution:`, lines `[14863]<tab>Get "http://…": dial tcp …`.
    Errors,
}

/// The figures in hey's summary. Its `Requests/sec` counts errors too, so the rate is left to
/// [`Output::rate`] (2xx responses over `Total`).
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let mut output = Output::default();
    let mut total = None;
    let mut section = Section::Other;
    for line in text.lines().map(str::trim) {
        match line {
            "Latency distribution:" => section = Section::Latency,
            "Status code distribution:" => section = Section::Status,
            "Error distribution:" => section = Section::Errors,
            _ if line.ends_with(':') => section = Section::Other,
            _ => {}
        }
        if let Some(value) = line.strip_prefix("Total:") {
            total = Some(seconds(value)?);
            continue;
        }
        match section {
            Section::Latency => {
                if let Some(value) = line.strip_prefix("50% in ") {
                    output.p50_us = Some(micros(value)?);
                } else if let Some(value) = line.strip_prefix("99% in ") {
                    output.p99_us = Some(micros(value)?);
                }
            }
            Section::Status => {
                if let Some((status, count)) = bracketed(line) {
                    let count: u64 = number(count.trim_end_matches("responses"), "hey count")?;
                    if status.starts_with('2') {
                        output.ok += count;
                    } else {
                        output.errors += count;
                    }
                }
            }
            Section::Errors => {
                if let Some((count, _message)) = bracketed(line) {
                    output.errors += number::<u64>(count, "hey error count")?;
                }
            }
            Section::Other => {}
        }
    }
    output.seconds = total.ok_or("hey printed no Total")?;
    Ok(output)
}

/// `[inside]<tab>rest` split in two.
fn bracketed(line: &str) -> Option<(&str, &str)> {
    let (inside, rest) = line.strip_prefix('[')?.split_once(']')?;
    Some((inside, rest.trim()))
}

/// `0.0047 secs` in whole microseconds (hey prints tenths of a millisecond).
fn micros(text: &str) -> Result<f64, String> {
    Ok((seconds(text)? * 1e6).round())
}

/// `3.0045 secs` in seconds.
fn seconds(text: &str) -> Result<f64, String> {
    number(text.trim().trim_end_matches("secs"), "hey seconds")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real output of Debian's hey against this task's nginx, pinned as it runs it.

    #[test]
    fn reads_a_run_at_100_connections() {
        let output = parse(include_str!("samples/hey-100.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (56_721, 0));
        assert_eq!(output.seconds, 3.0045);
        assert_eq!(output.p50_us, Some(4_700.0));
        assert_eq!(output.p99_us, Some(15_600.0));
    }

    #[test]
    fn reads_a_run_at_1000_connections() {
        let output = parse(include_str!("samples/hey-1000.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (49_254, 0));
        assert_eq!(output.seconds, 3.0807);
        assert_eq!(output.p99_us, Some(143_800.0));
    }

    #[test]
    fn failed_requests_are_errors_not_responses() {
        // hey's own Requests/sec (14853) counts these failures; the rate read here does not.
        let output = parse(include_str!("samples/hey-refused.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 14_863));
        assert_eq!(output.p50_us, None);
        assert_eq!(output.rate(), 0.0);
    }
}
