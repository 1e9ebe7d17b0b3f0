//! Thresholds: conditions a run must meet (`p99(login) < 50ms`, `failures < 0.1%`), checked on
//! its report — or on the merged report of its processes — so that CI fails a slow build.

use std::fmt;
use std::str::FromStr;

use crate::duration::parse_duration;
use crate::format::{format_duration_us_f64, format_percent, format_rate};
use crate::histogram::Histogram;
use crate::model::{Report, ThresholdResult, TransactionReport};

/// The metrics a threshold can name, for the message that meets an unknown one.
const KNOWN_METRICS: &str = "p50, p90, p99, p99.9 (any pNN), p(NN), p(NN, name), mean, max, \
                             failures, rate, count (each alone for all transactions, or with a \
                             transaction's name: p99(login)), counter(name), failed_bots, \
                             failed_bots(kind)";

/// A condition on a report: `METRIC OP VALUE`, whitespace optional.
///
/// | METRIC | measures | VALUE |
/// |---|---|---|
/// | `p99`, `p99.9(name)`, `p(99.9)`, `p(99.9, name)` | a percentile (any in (0, 100]) of the latency of successes | a duration: `50ms`, `1.5s`, `200us`, `2m`, `1h` |
/// | `mean`, `mean(name)`, `max`, `max(name)` | the mean or highest latency of successes | a duration |
/// | `failures`, `failures(name)` | failed / (ok + failed): abandoned and stopped ones are not failures | a percentage `0.1%` or a fraction `0.001` |
/// | `rate`, `rate(name)` | successes per second of the run | a number, `/s` optional: `100/s` |
/// | `count`, `count(name)` | successes | a whole number |
/// | `counter(name)` | a counter's value | a whole number |
/// | `failed_bots`, `failed_bots(kind)` | bots that panicked or returned an error (of one kind: `panicked`, `stalled`, an error's kind), which no transaction counts | a whole number |
///
/// OP is one of `<`, `<=`, `>`, `>=`, `==`. Without a name, a metric covers every transaction
/// together (their histograms merged, their counts summed). A name runs to the first `)`, so it
/// may hold spaces and commas but not `)`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::{Report, Threshold, TransactionReport};
///
/// let mut login = TransactionReport::new("login");
/// login.record_ok(Duration::from_millis(40));
/// let mut report = Report::new("demo");
/// report.transactions.push(login);
///
/// let fast = Threshold::parse("p99(login) < 50ms").unwrap();
/// let result = fast.check(&report);
/// assert!(result.passed);
/// assert_eq!(result.measured, "40.0ms");
/// assert_eq!(result.limit, "50.0ms");
///
/// let error = Threshold::parse("p99(login) < 50").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "threshold `p99(login) < 50`: `50` is not a duration: the number needs a unit (us, ms, s, m, h)",
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The expression as given (trimmed), shown in results.
    expression: String,
    /// What is measured.
    metric: Metric,
    /// How the measure must compare with the limit.
    comparison: Comparison,
    /// The limit, in the metric's [`Unit`].
    limit: f64,
}

/// What a threshold measures; `None` names every transaction together.
#[derive(Clone, Debug, PartialEq)]
enum Metric {
    /// A percentile, in (0, 100], of the latency of successes.
    Percentile {
        /// The percentile: 99.9 for p99.9.
        percent: f64,
        /// The transaction, or all.
        transaction: Option<String>,
    },
    /// The mean latency of successes.
    Mean(Option<String>),
    /// The highest latency of successes.
    Max(Option<String>),
    /// Failed / (ok + failed).
    Failures(Option<String>),
    /// Successes per second of the run.
    Rate(Option<String>),
    /// Successes.
    Count(Option<String>),
    /// A counter's value.
    Counter(String),
    /// Bots that failed (panicked, returned an error), or those of one kind.
    FailedBots(Option<String>),
}

/// The unit of a metric's values: how its limit is read and how its figures are shown.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    /// Microseconds, written `50ms`.
    Duration,
    /// A fraction, written `0.1%` or `0.001`.
    Fraction,
    /// Per second, written `100/s` or `100`.
    PerSecond,
    /// A whole number.
    Whole,
}

/// How a measure must compare with its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

/// A threshold that could not be parsed: the message says what was expected, and where.
///
/// # Examples
/// ```
/// use ttk_report::Threshold;
///
/// let error = Threshold::parse("p99(login) =< 50ms").unwrap_err();
/// assert!(error.to_string().contains("expected a comparison (<, <=, >, >=, ==)"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdError {
    /// The expression as given.
    expression: String,
    /// What is wrong with it.
    message: String,
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "threshold `{}`: {}", self.expression, self.message)
    }
}

impl std::error::Error for ThresholdError {}

impl Threshold {
    /// Parses `METRIC OP VALUE` (see [`Threshold`] for the metrics and values).
    ///
    /// # Errors
    /// The expression does not follow the grammar: the message quotes it and says which part
    /// is wrong and what was expected there.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::Threshold;
    ///
    /// for expression in ["p99.9(login)<=1.5s", "p(99, login) < 50ms", "failures < 0.1%", "rate > 100/s"] {
    ///     assert!(Threshold::parse(expression).is_ok(), "{expression}");
    /// }
    /// let unknown = Threshold::parse("median < 5ms").unwrap_err().to_string();
    /// assert!(unknown.contains("unknown metric `median`"), "{unknown}");
    /// ```
    pub fn parse(expression: &str) -> Result<Threshold, ThresholdError> {
        let expression = expression.trim();
        let error = |message: String| ThresholdError {
            expression: expression.to_owned(),
            message,
        };
        let (metric, after_metric) = parse_metric(expression).map_err(error)?;
        let metric_text = expression[..expression.len() - after_metric.len()].trim_end();
        let unit = metric.unit();
        let (comparison, value) =
            parse_comparison(after_metric, metric_text, unit).map_err(error)?;
        let limit = unit.parse(value.trim()).map_err(error)?;
        Ok(Threshold {
            expression: expression.to_owned(),
            metric,
            comparison,
            limit,
        })
    }

    /// The expression as given.
    ///
    /// # Examples
    /// ```
    /// let threshold = ttk_report::Threshold::parse(" count > 10 ").unwrap();
    /// assert_eq!(threshold.expression(), "count > 10");
    /// ```
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Measures `report` and compares. A threshold on a transaction or counter the report does
    /// not have fails (its `measured` says so) rather than erring: a load test that no longer
    /// runs the transaction its CI guards must not pass silently. So does a latency threshold
    /// with no successes to measure, and a failure rate with nothing finished.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, Threshold};
    ///
    /// let result = Threshold::parse("p99(checkout) < 1s").unwrap().check(&Report::new("demo"));
    /// assert!(!result.passed);
    /// assert_eq!(result.measured, "no such transaction");
    /// ```
    pub fn check(&self, report: &Report) -> ThresholdResult {
        let unit = self.metric.unit();
        let (measured, passed) = match self.metric.measure(report) {
            Ok(measured) => (
                unit.format(measured),
                self.comparison.holds(measured, self.limit),
            ),
            Err(missing) => (missing.to_owned(), false),
        };
        ThresholdResult {
            expression: self.expression.clone(),
            measured,
            limit: unit.format(self.limit),
            passed,
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(expression: &str) -> Result<Threshold, ThresholdError> {
        Threshold::parse(expression)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl Report {
    /// Checks every threshold, in order, into [`Report::thresholds`] (replacing what was
    /// there); returns whether all passed.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, Threshold};
    ///
    /// let mut report = Report::new("demo");
    /// report.counters.insert("logins".to_owned(), 12);
    /// let thresholds = [
    ///     Threshold::parse("counter(logins) >= 10").unwrap(),
    ///     Threshold::parse("count == 0").unwrap(),
    /// ];
    /// assert!(report.check_thresholds(&thresholds));
    /// assert_eq!(report.thresholds.len(), 2);
    /// assert_eq!(report.thresholds[0].measured, "12");
    /// ```
    pub fn check_thresholds(&mut self, thresholds: &[Threshold]) -> bool {
        self.thresholds = thresholds
            .iter()
            .map(|threshold| threshold.check(self))
            .collect();
        self.thresholds.iter().all(|result| result.passed)
    }
}

impl Metric {
    /// The unit of the metric's values.
    fn unit(&self) -> Unit {
        match self {
            Metric::Percentile { .. } | Metric::Mean(_) | Metric::Max(_) => Unit::Duration,
            Metric::Failures(_) => Unit::Fraction,
            Metric::Rate(_) => Unit::PerSecond,
            Metric::Count(_) | Metric::Counter(_) | Metric::FailedBots(_) => Unit::Whole,
        }
    }

    /// The metric's value in `report`, in its unit, or why there is none.
    fn measure(&self, report: &Report) -> Result<f64, &'static str> {
        match self {
            Metric::Percentile {
                percent,
                transaction,
            } => {
                let latencies = successes(report, transaction)?;
                Ok(latencies.inner().value_at_quantile(quantile(*percent)) as f64)
            }
            Metric::Mean(transaction) => Ok(successes(report, transaction)?.inner().mean()),
            Metric::Max(transaction) => Ok(successes(report, transaction)?.inner().max() as f64),
            Metric::Failures(transaction) => {
                let chosen = transactions(report, transaction)?;
                let failed: u64 = chosen.iter().map(|tx| tx.failed).sum();
                let finished: u64 = chosen.iter().map(|tx| tx.ok + tx.failed).sum();
                if finished == 0 {
                    return Err("nothing finished");
                }
                Ok(failed as f64 / finished as f64)
            }
            Metric::Rate(transaction) => {
                let ok: u64 = transactions(report, transaction)?
                    .iter()
                    .map(|tx| tx.ok)
                    .sum();
                let duration_s = report.run.duration_s;
                Ok(if duration_s > 0.0 {
                    ok as f64 / duration_s
                } else {
                    0.0
                })
            }
            Metric::Count(transaction) => Ok(transactions(report, transaction)?
                .iter()
                .map(|tx| tx.ok)
                .sum::<u64>() as f64),
            Metric::Counter(name) => report
                .counters
                .get(name)
                .map(|&value| value as f64)
                .ok_or("no such counter"),
            Metric::FailedBots(None) => Ok(report.bots.failed as f64),
            // A kind no bot failed with: none failed so.
            Metric::FailedBots(Some(kind)) => Ok(report
                .bots
                .errors
                .iter()
                .filter(|tally| &tally.kind == kind)
                .map(|tally| tally.count)
                .sum::<u64>() as f64),
        }
    }
}

/// The quantile of a percentile, the very `f64` the summary asks the histogram for: `99.9 /
/// 100.0` is `0.9990000000000001`, not `0.999`, and its rank can be the next sample (p99.9 of
/// 1000 samples would be the 1000th, not the 999th). Rounding to a ten-thousandth of a percent
/// first, then one division of exact integers, gives the `f64` nearest to the decimal.
fn quantile(percent: f64) -> f64 {
    (percent * 1e4).round() / 1e6
}

/// The transaction named, or all of them.
fn transactions<'a>(
    report: &'a Report,
    name: &Option<String>,
) -> Result<Vec<&'a TransactionReport>, &'static str> {
    match name {
        Some(name) => report
            .transaction(name)
            .map(|tx| vec![tx])
            .ok_or("no such transaction"),
        None => Ok(report.transactions.iter().collect()),
    }
}

/// The latencies of the successes of the transaction named, or of all of them merged.
fn successes(report: &Report, name: &Option<String>) -> Result<Histogram, &'static str> {
    let mut latencies = Histogram::new();
    for tx in transactions(report, name)? {
        latencies.merge(&tx.histogram);
    }
    if latencies.inner().is_empty() {
        return Err("no successes");
    }
    Ok(latencies)
}

impl Unit {
    /// Reads a limit written in this unit (`value` is trimmed).
    fn parse(self, value: &str) -> Result<f64, String> {
        if value.is_empty() {
            return Err(format!(
                "nothing after the comparison: expected a limit like {}",
                self.example()
            ));
        }
        match self {
            Unit::Duration => parse_duration_us(value),
            Unit::Fraction => {
                if let Some(percent) = value.strip_suffix('%') {
                    let percent = parse_number(percent.trim_end(), value, self)?;
                    if percent > 100.0 {
                        return Err(format!("{value} is more than 100%"));
                    }
                    Ok(percent / 100.0)
                } else {
                    let fraction = parse_number(value, value, self)?;
                    if fraction > 1.0 {
                        return Err(format!(
                            "{value} is more than 1 as a fraction; for a percentage write {value}%"
                        ));
                    }
                    Ok(fraction)
                }
            }
            Unit::PerSecond => {
                let number = value.strip_suffix("/s").unwrap_or(value).trim_end();
                parse_number(number, value, self)
            }
            Unit::Whole => match value.parse::<u64>() {
                Ok(whole) => Ok(whole as f64),
                Err(_) if value.parse::<f64>().is_ok() => Err(format!(
                    "{value} is not a whole number; expected a count like {}",
                    self.example()
                )),
                Err(_) => Err(format!(
                    "`{value}` is not a number; expected a whole number like {}",
                    self.example()
                )),
            },
        }
    }

    /// A figure in this unit, as the summary writes it.
    fn format(self, value: f64) -> String {
        match self {
            Unit::Duration => format_duration_us_f64(value),
            Unit::Fraction => format_percent(value),
            Unit::PerSecond => format!("{}/s", format_rate(value)),
            Unit::Whole => format!("{value:.0}"),
        }
    }

    /// A limit in this unit, for messages.
    fn example(self) -> &'static str {
        match self {
            Unit::Duration => "50ms",
            Unit::Fraction => "0.1% or 0.001",
            Unit::PerSecond => "100/s",
            Unit::Whole => "1000",
        }
    }
}

/// A non-negative, finite number: `text` is the number, `value` the whole limit (for messages).
fn parse_number(text: &str, value: &str, unit: Unit) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() && number >= 0.0 => Ok(number),
        Ok(number) if number < 0.0 => Err(format!("the limit {value} cannot be negative")),
        _ => Err(format!(
            "`{value}` is not a number; expected a limit like {}",
            unit.example()
        )),
    }
}

/// A duration (see [`parse_duration`]) in microseconds.
fn parse_duration_us(value: &str) -> Result<f64, String> {
    parse_duration(value)
        .map(|duration| duration.as_nanos() as f64 / 1e3)
        .map_err(|error| error.to_string())
}

/// The metric at the start of `text`, and what follows it.
fn parse_metric(text: &str) -> Result<(Metric, &str), String> {
    let word_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let word = &text[..word_end];
    if word.is_empty() {
        return Err(if text.is_empty() {
            "empty; expected METRIC OP VALUE, like p99(login) < 50ms".to_owned()
        } else {
            format!(
                "expected a metric at the start, found `{text}`; known metrics: {KNOWN_METRICS}"
            )
        });
    }
    let mut rest = text[word_end..].trim_start();
    let argument = match rest.strip_prefix('(') {
        Some(inside) => {
            let close = inside
                .find(')')
                .ok_or_else(|| format!("the `(` after `{word}` is not closed"))?;
            rest = inside[close + 1..].trim_start();
            Some(inside[..close].trim())
        }
        None => None,
    };
    let name = |argument: Option<&str>| -> Result<Option<String>, String> {
        match argument {
            None => Ok(None),
            Some("") => Err(format!(
                "`{word}()` names no transaction; write `{word}` for all transactions \
                 or `{word}(name)` for one"
            )),
            Some(name) => Ok(Some(name.to_owned())),
        }
    };
    let metric = match word {
        "p" => {
            let argument =
                argument.ok_or("`p` needs a percentile: p(99.9), p(99.9, name) or p99.9(name)")?;
            let (percent, transaction) = match argument.split_once(',') {
                Some((percent, transaction)) => (percent.trim(), name(Some(transaction.trim()))?),
                None => (argument, None),
            };
            Metric::Percentile {
                percent: parse_percent(percent, word)?,
                transaction,
            }
        }
        _ if word.starts_with('p')
            && word[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
        {
            Metric::Percentile {
                percent: parse_percent(&word[1..], word)?,
                transaction: name(argument)?,
            }
        }
        "mean" => Metric::Mean(name(argument)?),
        "max" => Metric::Max(name(argument)?),
        "failures" => Metric::Failures(name(argument)?),
        "rate" => Metric::Rate(name(argument)?),
        "count" => Metric::Count(name(argument)?),
        "failed_bots" => Metric::FailedBots(name(argument)?),
        "counter" => match name(argument)? {
            Some(counter) => Metric::Counter(counter),
            None => return Err("`counter` needs a counter's name: counter(name)".to_owned()),
        },
        unknown => {
            return Err(format!(
                "unknown metric `{unknown}`; known metrics: {KNOWN_METRICS}"
            ));
        }
    };
    Ok((metric, rest))
}

/// A percentile in (0, 100], from `text` (the number in `p99.9` or `p(99.9)`).
fn parse_percent(text: &str, word: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(percent) if percent > 0.0 && percent <= 100.0 => Ok(percent),
        _ => Err(format!(
            "the percentile `{text}` in `{word}` must be a number above 0 and at most 100, \
             like p99 or p99.9"
        )),
    }
}

/// The comparison at the start of `text` (what follows the metric), and the value after it.
fn parse_comparison<'a>(
    text: &'a str,
    metric: &str,
    unit: Unit,
) -> Result<(Comparison, &'a str), String> {
    // Two-character operators first: `<=` must not be read as `<` followed by `= 50ms`.
    let operators = [
        ("<=", Comparison::LessOrEqual),
        (">=", Comparison::GreaterOrEqual),
        ("==", Comparison::Equal),
        ("<", Comparison::Less),
        (">", Comparison::Greater),
    ];
    for (symbol, comparison) in operators {
        if let Some(value) = text.strip_prefix(symbol) {
            return Ok((comparison, value));
        }
    }
    let example = unit.example();
    Err(if text.is_empty() {
        format!("`{metric}` needs a comparison and a limit after it, like `{metric} < {example}`")
    } else if text.starts_with('(') {
        format!(
            "unexpected `{text}` after `{metric}`: a metric takes one (…); for a percentile \
             of one transaction write p(99.9, name) or p99.9(name)"
        )
    } else if text.starts_with('=') && !text.starts_with("=<") && !text.starts_with("=>") {
        format!("`=` after `{metric}` is not a comparison; write `==`")
    } else {
        format!("after `{metric}`, expected a comparison (<, <=, >, >=, ==), found `{text}`")
    })
}

impl Comparison {
    /// Whether `measured OP limit`.
    fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Comparison::Less => measured < limit,
            Comparison::LessOrEqual => measured <= limit,
            Comparison::Greater => measured > limit,
            Comparison::GreaterOrEqual => measured >= limit,
            Comparison::Equal => measured == limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(expression: &str) -> (Metric, Comparison, f64) {
        let threshold = Threshold::parse(expression).unwrap_or_else(|error| panic!("{error}"));
        (threshold.metric, threshold.comparison, threshold.limit)
    }

    fn named(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    #[test]
    fn every_latency_form() {
        let percentile = |percent, transaction| Metric::Percentile {
            percent,
            transaction,
        };
        let cases = [
            (
                "p50(login) < 50ms",
                percentile(50.0, named("login")),
                50_000.0,
            ),
            ("p90 < 1s", percentile(90.0, None), 1_000_000.0),
            (
                "p99(login)<50ms",
                percentile(99.0, named("login")),
                50_000.0,
            ),
            (
                "p99.9(login) < 1.5s",
                percentile(99.9, named("login")),
                1_500_000.0,
            ),
            ("p100 < 2m", percentile(100.0, None), 120_000_000.0),
            ("p(99.9) < 200us", percentile(99.9, None), 200.0),
            (
                "p( 99.9 , log in ) < 1h",
                percentile(99.9, named("log in")),
                3_600_000_000.0,
            ),
            ("p0.1 < 5 ms", percentile(0.1, None), 5_000.0),
            ("mean(login) < 7µs", Metric::Mean(named("login")), 7.0),
            ("mean < 7μs", Metric::Mean(None), 7.0),
            ("max(login) < 3s", Metric::Max(named("login")), 3_000_000.0),
            ("max<3s", Metric::Max(None), 3_000_000.0),
        ];
        for (expression, metric, limit) in cases {
            let (got_metric, comparison, got_limit) = parsed(expression);
            assert_eq!(got_metric, metric, "{expression}");
            assert_eq!(comparison, Comparison::Less, "{expression}");
            assert_eq!(got_limit, limit, "{expression}");
        }
    }

    #[test]
    fn percentiles_become_the_quantiles_the_summary_uses() {
        assert_eq!(quantile(50.0), 0.5);
        assert_eq!(quantile(90.0), 0.9);
        assert_eq!(quantile(99.0), 0.99);
        assert_eq!(quantile(99.9), 0.999);
        assert_eq!(quantile(99.99), 0.9999);
        assert_eq!(quantile(100.0), 1.0);
    }

    /// Bots that failed, which no transaction counts, in all and by kind; a kind none failed
    /// with is none.
    #[test]
    fn failed_bots_are_measured_in_all_and_by_kind() {
        let mut report = Report::new("demo");
        report.bots.started = 100;
        report.bots.failed = 3;
        report.bots.errors = [("panicked", 2), ("TimedOut", 1)]
            .map(|(kind, count)| crate::model::ErrorTally {
                kind: kind.into(),
                count,
                samples: Vec::new(),
            })
            .into();
        let check = |expression: &str| Threshold::parse(expression).unwrap().check(&report);
        let all = check("failed_bots == 0");
        assert!(!all.passed);
        assert_eq!(all.measured, "3");
        let panicked = check("failed_bots(panicked) <= 2");
        assert!(panicked.passed);
        assert_eq!(panicked.measured, "2");
        assert!(check("failed_bots(stalled) == 0").passed);
    }

    #[test]
    fn every_comparison() {
        let cases = [
            ("count < 1", Comparison::Less),
            ("count<=1", Comparison::LessOrEqual),
            ("count > 1", Comparison::Greater),
            ("count >= 1", Comparison::GreaterOrEqual),
            ("count == 1", Comparison::Equal),
        ];
        for (expression, comparison) in cases {
            assert_eq!(parsed(expression).1, comparison, "{expression}");
        }
    }

    #[test]
    fn every_other_metric_and_its_value() {
        let cases = [
            ("failures < 0.1%", Metric::Failures(None), 0.001),
            (
                "failures(login) < 0.001",
                Metric::Failures(named("login")),
                0.001,
            ),
            ("failures == 0", Metric::Failures(None), 0.0),
            ("failures <= 100 %", Metric::Failures(None), 1.0),
            ("rate > 100/s", Metric::Rate(None), 100.0),
            ("rate(login) > 2.5", Metric::Rate(named("login")), 2.5),
            (
                "count(login) >= 1000",
                Metric::Count(named("login")),
                1000.0,
            ),
            ("count > 0", Metric::Count(None), 0.0),
            (
                "counter(bytes sent) >= 42",
                Metric::Counter(named("bytes sent").unwrap()),
                42.0,
            ),
            ("failed_bots == 0", Metric::FailedBots(None), 0.0),
            (
                "failed_bots(panicked) < 3",
                Metric::FailedBots(named("panicked")),
                3.0,
            ),
        ];
        for (expression, metric, limit) in cases {
            let (got_metric, _, got_limit) = parsed(expression);
            assert_eq!(got_metric, metric, "{expression}");
            assert!(
                (got_limit - limit).abs() < 1e-12,
                "{expression}: {got_limit}"
            );
        }
    }

    fn message(expression: &str) -> String {
        match Threshold::parse(expression) {
            Ok(threshold) => panic!("`{expression}` parsed: {threshold:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn errors_say_what_was_expected_and_where() {
        let cases = [
            (
                "p99(login) < 50",
                "threshold `p99(login) < 50`: `50` is not a duration: the number needs a unit (us, ms, s, m, h)",
            ),
            (
                "p99 < 50xs",
                "threshold `p99 < 50xs`: `50xs` is not a duration: unknown unit `xs`; expected ns, us, ms, s, m, h or d",
            ),
            (
                "p99 < fast",
                "threshold `p99 < fast`: `fast` is not a duration: expected a number and a unit, like 50ms",
            ),
            (
                "p99 < -5ms",
                "threshold `p99 < -5ms`: `-5ms` is not a duration: a duration cannot be negative",
            ),
            (
                "p99 < 1.2.3ms",
                "threshold `p99 < 1.2.3ms`: `1.2.3ms` is not a duration: `1.2.3` is not a number",
            ),
            (
                "p99(login) <",
                "threshold `p99(login) <`: nothing after the comparison: expected a limit like 50ms",
            ),
            (
                "p99(login)",
                "threshold `p99(login)`: `p99(login)` needs a comparison and a limit after it, like `p99(login) < 50ms`",
            ),
            (
                "p99(login) = 5ms",
                "threshold `p99(login) = 5ms`: `=` after `p99(login)` is not a comparison; write `==`",
            ),
            (
                "p99 != 5ms",
                "threshold `p99 != 5ms`: after `p99`, expected a comparison (<, <=, >, >=, ==), found `!= 5ms`",
            ),
            (
                "p(99.9)(login) < 5ms",
                "threshold `p(99.9)(login) < 5ms`: unexpected `(login) < 5ms` after `p(99.9)`: a metric takes one (…); for a percentile of one transaction write p(99.9, name) or p99.9(name)",
            ),
            (
                "p0 < 5ms",
                "threshold `p0 < 5ms`: the percentile `0` in `p0` must be a number above 0 and at most 100, like p99 or p99.9",
            ),
            (
                "p(101) < 5ms",
                "threshold `p(101) < 5ms`: the percentile `101` in `p` must be a number above 0 and at most 100, like p99 or p99.9",
            ),
            (
                "p < 5ms",
                "threshold `p < 5ms`: `p` needs a percentile: p(99.9), p(99.9, name) or p99.9(name)",
            ),
            (
                "p99(login < 5ms",
                "threshold `p99(login < 5ms`: the `(` after `p99` is not closed",
            ),
            (
                "mean() < 5ms",
                "threshold `mean() < 5ms`: `mean()` names no transaction; write `mean` for all transactions or `mean(name)` for one",
            ),
            (
                "counter > 5",
                "threshold `counter > 5`: `counter` needs a counter's name: counter(name)",
            ),
            (
                "failures < 5",
                "threshold `failures < 5`: 5 is more than 1 as a fraction; for a percentage write 5%",
            ),
            (
                "failures < 150%",
                "threshold `failures < 150%`: 150% is more than 100%",
            ),
            (
                "failures < some",
                "threshold `failures < some`: `some` is not a number; expected a limit like 0.1% or 0.001",
            ),
            (
                "rate > -1/s",
                "threshold `rate > -1/s`: the limit -1/s cannot be negative",
            ),
            (
                "count > 1.5",
                "threshold `count > 1.5`: 1.5 is not a whole number; expected a count like 1000",
            ),
            (
                "counter(x) > lots",
                "threshold `counter(x) > lots`: `lots` is not a number; expected a whole number like 1000",
            ),
            (
                "",
                "threshold ``: empty; expected METRIC OP VALUE, like p99(login) < 50ms",
            ),
        ];
        for (expression, expected) in cases {
            assert_eq!(message(expression), expected);
        }
    }

    #[test]
    fn unknown_metrics_list_the_known_ones() {
        for expression in ["median(login) < 5ms", "pct < 5ms", "< 5ms"] {
            let message = message(expression);
            assert!(
                message.contains("known metrics: p50, p90, p99, p99.9 (any pNN), p(NN)"),
                "{message}"
            );
            assert!(message.contains("counter(name)"), "{message}");
        }
        assert!(message("median(login) < 5ms").contains("unknown metric `median`"));
    }
}
