//! Durations as people write them on a command line (`250ms`, `1.5s`, `1h 30m`): one grammar
//! for the thresholds' limits, the harness's `--duration` and the `ttk` command's flags.

use std::fmt;
use std::time::Duration;

/// The units a duration is written in, with the nanoseconds in one. Each has its short name
/// first; the long ones are accepted as people write them (`5min`, `30sec`, `2hours`).
const UNITS: &[(&[&str], u64)] = &[
    (&["ns", "nsec", "nanos"], 1),
    (&["us", "µs", "μs", "usec", "micros"], 1_000),
    (&["ms", "msec", "millis"], 1_000_000),
    (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000_000_000),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600_000_000_000),
    (&["d", "day", "days"], 86_400_000_000_000),
];

/// Why a text is not a duration (see [`parse_duration`]).
///
/// # Examples
/// ```
/// let error = ttk_report::parse_duration("50").unwrap_err();
/// assert_eq!(error.to_string(), "`50` is not a duration: the number needs a unit (us, ms, s, m, h)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    /// The text as given.
    text: String,
    /// What is wrong with it.
    problem: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a duration: {}", self.text, self.problem)
    }
}

impl std::error::Error for DurationError {}

/// Reads a duration: one or more parts, each a number and its unit — `ns`, `us` (or `µs`),
/// `ms`, `s`, `m`, `h`, `d`, or their long names (`sec`, `min`, `hours`…) — with spaces
/// between them or not: `250ms`, `1.5s`, `1m30s`, `1h 30m`. Numbers may have a fraction; a
/// duration is never negative.
///
/// The one parser of ttk's durations: the limits of thresholds (`p99 < 50ms`), the harness's
/// `--duration`, `--grace`, `--ramp-up` stages, and the `ttk` command's flags. A load test's
/// own flags use it too (`value_parser = ttk::cli::parse_duration`).
///
/// # Errors
/// The text is empty, has a part without a number or a unit, an unknown unit, a negative
/// value, or is longer than a [`Duration`] holds. The message quotes the text.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1h 30m"), parse_duration("90min"));
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("1.5 s"), Ok(Duration::from_millis(1_500)));
/// assert_eq!(parse_duration("0.5us"), Ok(Duration::from_nanos(500)));
/// assert!(parse_duration("soon").unwrap_err().to_string().contains("not a duration"));
/// assert!(parse_duration("-5ms").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let error = |problem: String| DurationError {
        text: text.to_owned(),
        problem,
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(error("expected a number and a unit, like 50ms".to_owned()));
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        if rest.starts_with('-') {
            return Err(error("a duration cannot be negative".to_owned()));
        }
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() {
            return Err(error("expected a number and a unit, like 50ms".to_owned()));
        }
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if unit.is_empty() {
            return Err(error(
                "the number needs a unit (us, ms, s, m, h)".to_owned(),
            ));
        }
        let Some(&(_, nanos_per_unit)) = UNITS.iter().find(|(names, _)| names.contains(&unit))
        else {
            return Err(error(format!(
                "unknown unit `{unit}`; expected ns, us, ms, s, m, h or d"
            )));
        };
        let part = part(number, nanos_per_unit).map_err(error)?;
        total = total
            .checked_add(part)
            .ok_or_else(|| error("too long".to_owned()))?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// `number` units of `nanos_per_unit` nanoseconds: exact for whole numbers.
fn part(number: &str, nanos_per_unit: u64) -> Result<Duration, String> {
    let too_long = || "too long".to_owned();
    if let Ok(whole) = number.parse::<u64>() {
        let nanos = u128::from(whole) * u128::from(nanos_per_unit);
        let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
        return Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    // The unit in seconds, times the number: rounded to the nanosecond.
    Duration::try_from_secs_f64(value * nanos_per_unit as f64 / 1e9).map_err(|_| too_long())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_its_long_names() {
        for (text, nanos) in [
            ("7ns", 7),
            ("7us", 7_000),
            ("7µs", 7_000),
            ("7ms", 7_000_000),
            ("7s", 7_000_000_000),
            ("7sec", 7_000_000_000),
            ("7m", 420_000_000_000),
            ("7min", 420_000_000_000),
            ("7h", 25_200_000_000_000),
            ("7hours", 25_200_000_000_000),
            ("1d", 86_400_000_000_000),
            (" 1h 30m ", 5_400_000_000_000),
            ("1m30s", 90_000_000_000),
            ("2.5ms", 2_500_000),
            ("0.001s", 1_000_000),
        ] {
            assert_eq!(
                parse_duration(text).map(|d| d.as_nanos()),
                Ok(nanos),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_quote_the_text_and_say_what_is_wrong() {
        for (text, message) in [
            (
                "",
                "`` is not a duration: expected a number and a unit, like 50ms",
            ),
            (
                "fast",
                "`fast` is not a duration: expected a number and a unit, like 50ms",
            ),
            (
                "50",
                "`50` is not a duration: the number needs a unit (us, ms, s, m, h)",
            ),
            (
                "1m 30",
                "`1m 30` is not a duration: the number needs a unit (us, ms, s, m, h)",
            ),
            (
                "50xs",
                "`50xs` is not a duration: unknown unit `xs`; expected ns, us, ms, s, m, h or d",
            ),
            (
                "-5ms",
                "`-5ms` is not a duration: a duration cannot be negative",
            ),
            (
                "1.2.3ms",
                "`1.2.3ms` is not a duration: `1.2.3` is not a number",
            ),
            (
                "99999999999999999999d",
                "`99999999999999999999d` is not a duration: too long",
            ),
        ] {
            assert_eq!(
                parse_duration(text).unwrap_err().to_string(),
                message,
                "{text:?}"
            );
        }
    }
}
