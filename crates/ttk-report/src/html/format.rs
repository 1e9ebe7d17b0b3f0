//! How figures read on the page: latencies in milliseconds, counts with separators, durations
//! and dates without a date library.

/// A latency given in microseconds, in milliseconds with about three significant digits (the
/// histogram keeps three): `0.412 ms`, `12.3 ms`, `1,530 ms`.
pub(crate) fn millis(micros: f64) -> String {
    let ms = micros / 1000.0;
    let digits = if ms < 1.0 {
        3
    } else if ms < 10.0 {
        2
    } else if ms < 100.0 {
        1
    } else {
        0
    };
    if digits == 0 {
        format!("{} ms", count(ms.round() as u64))
    } else {
        format!("{ms:.digits$} ms")
    }
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A signed count with thousands separators.
pub(crate) fn signed(n: i64) -> String {
    let magnitude = count(n.unsigned_abs());
    if n < 0 {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

/// A rate per second: one decimal below 100/s, whole numbers above.
pub(crate) fn rate(per_second: f64) -> String {
    if per_second < 100.0 {
        format!("{per_second:.1}")
    } else {
        count(per_second.round() as u64)
    }
}

/// `part` as a percentage of `whole`, or `None` when `whole` is zero.
pub(crate) fn percent(part: u64, whole: u64) -> Option<String> {
    if whole == 0 {
        return None;
    }
    let share = part as f64 * 100.0 / whole as f64;
    Some(if share > 0.0 && share < 0.1 {
        "<0.1%".to_owned()
    } else {
        format!("{share:.1}%")
    })
}

/// A duration in seconds as people say it: `850 ms`, `42.5 s`, `5m 03s`, `2h 00m 10s`.
pub(crate) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "unknown".to_owned();
    }
    if seconds < 1.0 {
        return format!("{} ms", (seconds * 1000.0).round());
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// Elapsed seconds as a clock reading for a time axis: `45`, `1:30`, `1:02:03`.
pub(crate) fn clock(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else if m > 0 {
        format!("{m}:{s:02}")
    } else {
        format!("{s}")
    }
}

/// Seconds since the Unix epoch as a UTC date and time, `2024-03-01 14:05:09`; `None` for zero
/// (a report that never recorded its start).
pub(crate) fn utc(unix_seconds: f64) -> Option<String> {
    if !unix_seconds.is_finite() || unix_seconds <= 0.0 {
        return None;
    }
    let whole = unix_seconds.floor() as i64;
    let (days, second_of_day) = (whole.div_euclid(86_400), whole.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    ))
}

/// The proleptic Gregorian date `days` after 1970-01-01, by counting 400-year eras from
/// 0000-03-01 so that the leap day falls at the end of each counted year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_keep_three_significant_digits() {
        assert_eq!(millis(412.0), "0.412 ms");
        assert_eq!(millis(4_127.0), "4.13 ms");
        assert_eq!(millis(12_345.0), "12.3 ms");
        assert_eq!(millis(1_530_000.0), "1,530 ms");
        assert_eq!(millis(0.0), "0.000 ms");
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(signed(-1_500), "-1,500");
        assert_eq!(rate(12.345), "12.3");
        assert_eq!(rate(1_234.5), "1,235");
        assert_eq!(percent(1, 3).unwrap(), "33.3%");
        assert_eq!(percent(1, 100_000).unwrap(), "<0.1%");
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn durations_and_clocks() {
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(42.46), "42.5 s");
        assert_eq!(duration(303.0), "5m 03s");
        assert_eq!(duration(7210.0), "2h 00m 10s");
        assert_eq!(duration(f64::NAN), "unknown");
        assert_eq!(clock(45.0), "45");
        assert_eq!(clock(90.0), "1:30");
        assert_eq!(clock(3723.0), "1:02:03");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0.0), None);
        assert_eq!(utc(1.0).unwrap(), "1970-01-01 00:00:01");
        assert_eq!(utc(951_782_400.0).unwrap(), "2000-02-29 00:00:00");
        assert_eq!(utc(1_709_301_909.7).unwrap(), "2024-03-01 14:05:09");
        assert_eq!(utc(4_102_444_799.0).unwrap(), "2099-12-31 23:59:59");
    }
}
