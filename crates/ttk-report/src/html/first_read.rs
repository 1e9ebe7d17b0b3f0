//! Tests of what a reader saw wrong on first reading the page (issue #19's report items, and
//! day-long runs): headline tiles, latency scales, the last partial second, short runs, the
//! percentile axis' last label, and hours.

use std::time::Duration;

use crate::{Histogram, Report, SecondReport, SecondTransaction, SeriesBuilder, TransactionReport};

/// A report of `name`s with `ok` successes each, and a series of `seconds` seconds.
fn report(transactions: &[(&str, u64)], seconds: u64) -> Report {
    let mut report = Report::new("page");
    report.run.duration_s = seconds as f64;
    for &(name, ok) in transactions {
        let mut tx = TransactionReport::new(name);
        for _ in 0..ok {
            tx.record_ok(Duration::from_millis(2));
        }
        report.transactions.push(tx);
    }
    let mut fast = Histogram::new();
    fast.record(Duration::from_micros(300));
    let mut slow = Histogram::new();
    slow.record(Duration::from_millis(300));
    let mut both = fast.clone();
    both.merge(&slow);
    let mut series = SeriesBuilder::new();
    for t in 1..=seconds {
        let mut second = SecondReport {
            t,
            active_bots: 10,
            ..SecondReport::default()
        };
        for &(name, _) in transactions {
            second
                .transactions
                .insert(name.to_owned(), SecondTransaction::new(2, 0, &both));
        }
        series.push(second);
    }
    (report.series, report.series_interval_s) = series.finish();
    report
}

/// The text of the tile named `name` (its `<dd>`).
fn tile<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html.find(&format!("<dt>{name}</dt><dd>")).expect(name) + name.len() + 13;
    &html[at..at + html[at..].find("</dd>").unwrap()]
}

#[test]
fn tiles_do_not_add_unlike_transactions() {
    let html = report(&[("connect", 10), ("request", 1_000)], 10).to_html();
    assert_eq!(tile(&html, "Successes · request"), "1,000");
    assert!(!html.contains("1,010"), "connect and request added up");
    let one = report(&[("request", 1_000)], 10).to_html();
    assert_eq!(tile(&one, "Successes"), "1,000");
}

#[test]
fn a_run_under_a_second_shows_its_bots_not_a_peak_of_zero() {
    let mut short = report(&[("request", 5)], 0);
    short.bots.started = 12;
    let html = short.to_html();
    assert!(!html.contains("<dt>Peak bots</dt><dd>0</dd>"));
    assert_eq!(tile(&html, "Bots started"), "12");
}

#[test]
fn latency_over_time_is_on_a_log_scale() {
    // A p50 of 0.3 ms under a p99 of 300 ms: on a linear scale the median sits on the axis.
    let html = report(&[("request", 4)], 30).to_html();
    let at = html.find("id=\"plot-latency\"").unwrap();
    let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
    assert!(figure.contains("log scale"), "{figure}");
}

#[test]
fn the_last_partial_second_joins_the_one_before() {
    let mut short_end = report(&[("request", 4)], 10);
    let last = short_end.series.last_mut().unwrap();
    last.length_s = 0.2;
    last.transactions.clear();
    let buckets = super::buckets::buckets(&short_end.series);
    assert_eq!(buckets.len(), 9);
    let end = buckets.last().unwrap();
    assert_eq!(end.t, 10.0);
    // Two successes over 1.2 s, not a collapse to zero.
    let rate = end.transactions["request"].ok_per_s;
    assert!((rate - 2.0 / 1.2).abs() < 1e-9, "{rate}");
}

#[test]
fn the_percentile_axis_has_room_for_its_last_label() {
    let mut many = report(&[("request", 0)], 5);
    let mut histogram = Histogram::new();
    for micros in 1..=1_000_000u64 {
        histogram.record(Duration::from_micros(micros));
    }
    many.transactions[0].histogram = histogram;
    many.transactions[0].ok = 1_000_000;
    let html = many.to_html();
    let label = html
        .find(">\np99.9999\n</text>")
        .expect("the p99.9999 label");
    let text = &html[html[..label].rfind("<text").unwrap()..label];
    let x: f64 = text
        .split("x=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|x| x.parse().ok())
        .expect("the label's x");
    // Centred at x, about 8 characters of 15 px: it must end inside the 1,000-wide chart.
    assert!(x + 8.0 * 15.0 * 0.6 / 2.0 <= 1_000.0, "{text}");
}

#[test]
fn a_day_is_drawn_in_hours_and_in_its_intervals() {
    // A day as the collector leaves it: 288 entries of 5 minutes.
    let mut day = report(&[("request", 4)], 0);
    day.run.duration_s = 86_400.0;
    day.series_interval_s = 300;
    let mut latencies = Histogram::new();
    latencies.record(Duration::from_millis(2));
    let minutes = SecondTransaction::new(600, 0, &latencies);
    day.series = (1..=288)
        .map(|n| SecondReport {
            t: n * 300,
            active_bots: 10,
            length_s: 300.0,
            transactions: [("request".to_owned(), minutes.clone())].into(),
            ..SecondReport::default()
        })
        .collect();
    let html = day.to_html();
    assert!(html.contains("elapsed (hours)"));
    let ticks: Vec<&str> = html
        .split("</text>")
        .filter_map(|text| text.rsplit('>').next())
        .map(str::trim)
        .filter(|label| label.ends_with('h'))
        .collect();
    assert!(
        ticks.contains(&"10h") && ticks.contains(&"20h"),
        "{ticks:?}"
    );
    assert!(html.contains("Each point over time covers"));
    let short = report(&[("request", 4)], 60).to_html();
    assert!(!short.contains("Each point over time covers"));
    assert!(short.contains("elapsed (s)"));
}
