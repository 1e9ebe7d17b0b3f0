//! How figures are written for people: durations, percentages and rates, compact enough for a
//! table column, and written the same way in the summary, the thresholds and the progress line.

/// Writes a duration given in microseconds compactly, with three significant digits: `850us`,
/// `12.3ms`, `1.20s`, `42.0s`; past a minute `2m05s`, past an hour `1h02m`.
///
/// It is what the summary's latency columns and the thresholds' figures show, so a live
/// progress line that uses it reads the same as the end of the run.
///
/// # Examples
/// ```
/// use ttk_report::format_duration_us;
///
/// assert_eq!(format_duration_us(850), "850us");
/// assert_eq!(format_duration_us(12_345), "12.3ms");
/// assert_eq!(format_duration_us(1_200_000), "1.20s");
/// assert_eq!(format_duration_us(125_000_000), "2m05s");
/// assert_eq!(format_duration_us(3_720_000_000), "1h02m");
/// ```
pub fn format_duration_us(micros: u64) -> String {
    // Each bound is where the smaller unit would round up to four digits (`1000ms`), so the
    // next unit takes over exactly there.
    if micros < 1_000 {
        return format!("{micros}us");
    }
    if micros < 999_500 {
        return format!("{}ms", three_significant_digits(micros as f64 / 1e3));
    }
    if micros < 59_950_000 {
        return format!("{}s", three_significant_digits(micros as f64 / 1e6));
    }
    // Saturating: a limit given by hand may be near `u64::MAX` µs (the rounding is moot there).
    let seconds = micros.saturating_add(500_000) / 1_000_000;
    if seconds < 3_600 {
        return format!("{}m{:02}s", seconds / 60, seconds % 60);
    }
    let minutes = micros.saturating_add(30_000_000) / 60_000_000;
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// A duration of `micros` microseconds given as a float (a mean, a limit), rounded to the
/// microsecond and written by [`format_duration_us`].
pub(crate) fn format_duration_us_f64(micros: f64) -> String {
    // `as` saturates: negative and NaN become 0, which no latency is below anyway.
    format_duration_us(micros.round() as u64)
}

/// A fraction written as a percentage: `0.00123` is `0.123%`.
pub(crate) fn format_percent(fraction: f64) -> String {
    format!("{}%", three_significant_digits(fraction * 100.0))
}

/// A rate, per second, without its unit: `12.3`, `205`, `1234`.
pub(crate) fn format_rate(per_second: f64) -> String {
    three_significant_digits(per_second)
}

/// `value` with three significant digits (and never fewer integer digits than it has):
/// `0.00123`, `1.20`, `12.3`, `123`, `1234`; zero is `0`.
pub(crate) fn three_significant_digits(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 9) as usize;
    let text = format!("{value:.decimals$}");
    // Rounding can carry into a new digit (9.996 -> "10.00"): one decimal fewer then.
    let carried = text
        .parse::<f64>()
        .is_ok_and(|rounded| rounded.abs() >= 10f64.powi(magnitude + 1));
    if carried && decimals > 0 {
        format!("{value:.prec$}", prec = decimals - 1)
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_switch_unit_where_the_smaller_one_would_need_four_digits() {
        let cases = [
            (0, "0us"),
            (1, "1us"),
            (999, "999us"),
            (1_000, "1.00ms"),
            (9_996, "10.0ms"),
            (12_345, "12.3ms"),
            (999_499, "999ms"),
            (999_500, "1.00s"),
            (1_200_000, "1.20s"),
            (59_949_000, "59.9s"),
            (59_950_000, "1m00s"),
            (125_000_000, "2m05s"),
            (3_599_400_000, "59m59s"),
            (3_599_500_000, "1h00m"),
            (3_600_000_000, "1h00m"),
            (3_720_000_000, "1h02m"),
        ];
        for (micros, written) in cases {
            assert_eq!(format_duration_us(micros), written, "{micros}us");
        }
    }

    #[test]
    fn three_significant_digits_at_every_magnitude() {
        let cases = [
            (0.0, "0"),
            (0.001_234, "0.00123"),
            (0.1, "0.100"),
            (1.0, "1.00"),
            (9.996, "10.0"),
            (12.34, "12.3"),
            (99.96, "100"),
            (205.4, "205"),
            (1234.5, "1234"),
        ];
        for (value, written) in cases {
            assert_eq!(three_significant_digits(value), written, "{value}");
        }
        assert_eq!(format_percent(0.001), "0.100%");
        assert_eq!(format_percent(1.0), "100%");
        assert_eq!(format_duration_us_f64(-3.0), "0us");
    }
}
