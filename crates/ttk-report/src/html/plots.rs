//! The page's charts, each in a `<figure class="plot" id="plot-…">` with its title, its SVG
//! (or a short note when there is nothing to draw) and an HTML legend.

use super::axes::Nines;
use super::buckets::{Bucket, BucketTransaction, buckets};
use super::chart::{self, BAND, Drawn, Look, SMALL, Trace, WIDE};
use super::escape::Html;
use super::palette::{self, Palette};
use crate::quantiles::values_at_quantiles;
use crate::{Histogram, Report};

/// Points computed along a percentile curve.
const CURVE_POINTS: u32 = 400;

/// One entry of a chart's legend.
#[derive(Debug)]
struct Key {
    /// What the entry names (run text: escaped when written).
    label: String,
    /// Its color, as CSS.
    color: String,
    /// How its line is drawn.
    look: Look,
}

/// What a figure shows under its caption.
#[derive(Debug)]
enum Content<'a> {
    /// One chart.
    Chart(Drawn),
    /// A grid of small charts, each titled with a transaction's name and color.
    Multiples(Vec<(&'a str, String, Drawn)>),
    /// A note saying why there is nothing to draw.
    Nothing(&'static str),
}

/// Appends the charts section of `report`.
pub(crate) fn plots(report: &Report, palette: &Palette<'_>, html: &mut Html) {
    let buckets = buckets(&report.series);
    // The latest second, not the last: a series out of order (a report built by hand) must not
    // put points past the axis, where the chart's pixel arithmetic overflows.
    let x_max = buckets.iter().map(|bucket| bucket.t).fold(1.0, f64::max);
    html.raw("<section id=\"plots\">\n<h2>Charts</h2>\n");
    // A long run's series is kept in wider intervals (see the report schema): say so, and draw
    // each interval's rates as a step over the time it covers.
    let interval_s = buckets
        .iter()
        .map(|bucket| bucket.t - bucket.start)
        .fold(0.0, f64::max)
        .round();
    let steps = interval_s > 1.0;
    if steps {
        html.raw("<p class=\"note\" id=\"interval\">")
            .display(format_args!(
                "Each point over time covers {} of the run: rates are its averages, \
                 latencies its percentiles.",
                super::format::duration(interval_s)
            ))
            .raw("</p>\n");
    }
    let changes: Vec<f64> = report
        .run
        .changes
        .iter()
        .map(|change| change.t_s)
        .filter(|t| t.is_finite() && (0.0..=x_max).contains(t))
        .collect();
    throughput(&buckets, x_max, steps, &changes, palette, html);
    latency_over_time(&buckets, x_max, palette, html);
    active_bots(&buckets, x_max, &changes, html);
    distribution(report, palette, html);
    failures(&buckets, x_max, steps, palette, html);
    html.raw("</section>\n");
}

/// `(t, value)` of each bucket, or, as `steps`, a level over the time each bucket covers.
fn over_buckets(
    buckets: &[Bucket<'_>],
    steps: bool,
    value: impl Fn(&Bucket<'_>) -> f64,
) -> Vec<(f64, f64)> {
    match steps {
        false => buckets.iter().map(|b| (b.t, value(b))).collect(),
        true => buckets
            .iter()
            .flat_map(|b| {
                let level = value(b);
                [(b.start, level), (b.t, level)]
            })
            .collect(),
    }
}

/// A vertical line at each time in `changes`, as high as the highest point of `traces`: where
/// the load was changed during the run.
fn change_marks(changes: &[f64], traces: &[Trace]) -> Vec<Trace> {
    let top = traces
        .iter()
        .flat_map(|trace| trace.segments.iter().flatten())
        .map(|&(_, y)| y)
        .fold(0.0, f64::max);
    changes
        .iter()
        .map(|&t| Trace {
            color: palette::CHANGE,
            look: Look::Line,
            segments: vec![vec![(t, 0.0), (t, top.max(1.0))]],
        })
        .collect()
}

/// The legend entry of the change marks.
fn change_key() -> Key {
    Key {
        label: "load changed".to_owned(),
        color: palette::css(palette::CHANGE),
        look: Look::Line,
    }
}

/// Successes per second of each transaction.
fn throughput(
    buckets: &[Bucket<'_>],
    x_max: f64,
    steps: bool,
    changes: &[f64],
    palette: &Palette<'_>,
    html: &mut Html,
) {
    let mut traces = Vec::new();
    let mut keys = Vec::new();
    for &name in palette.names() {
        if !buckets.iter().any(|b| b.transactions.contains_key(name)) {
            continue;
        }
        traces.push(rate_line(buckets, name, steps, palette, |tx| tx.ok_per_s));
        keys.push(key(name, palette, Look::Line));
    }
    if !traces.is_empty() && !changes.is_empty() {
        let marks = change_marks(changes, &traces);
        traces.extend(marks);
        keys.push(change_key());
    }
    let content = if buckets.is_empty() {
        Content::Nothing(NO_SERIES)
    } else if traces.is_empty() {
        Content::Nothing("No transaction finished during the run.")
    } else {
        Content::Chart(chart::over_time(
            WIDE,
            x_max,
            "successes per second",
            &traces,
        ))
    };
    figure(
        html,
        "plot-throughput",
        "Throughput",
        "Successful transactions per second.",
        content,
        &keys,
    );
}

/// The median and 99th percentile of each second's successes: one small chart per
/// transaction, each on its own scale, since one slow transaction would flatten the others on
/// a shared one.
fn latency_over_time(buckets: &[Bucket<'_>], x_max: f64, palette: &Palette<'_>, html: &mut Html) {
    let mut multiples = Vec::new();
    for &name in palette.names() {
        let p50 = latency_segments(buckets, name, |tx| tx.p50_ms);
        if p50.is_empty() {
            continue;
        }
        let color = palette.color(name);
        let traces = [
            Trace {
                color,
                look: Look::Tail,
                segments: latency_segments(buckets, name, |tx| tx.p99_ms),
            },
            Trace {
                color,
                look: Look::Line,
                segments: p50,
            },
        ];
        let drawn = chart::latency_over_time(SMALL, x_max, &traces);
        multiples.push((name, palette.css(name), drawn));
    }
    let gray = palette::css(palette::NEUTRAL);
    let keys = [("p50", Look::Line), ("p99", Look::Tail)].map(|(label, look)| Key {
        label: label.to_owned(),
        color: gray.clone(),
        look,
    });
    let content = if buckets.is_empty() {
        Content::Nothing(NO_SERIES)
    } else if multiples.is_empty() {
        Content::Nothing("No successful transaction to measure.")
    } else {
        Content::Multiples(multiples)
    };
    figure(
        html,
        "plot-latency",
        "Latency over time",
        "Median (line) and 99th percentile (shaded) of each second's (or interval's) \
         successful transactions, on a log scale.",
        content,
        &keys,
    );
}

/// A latency figure of `name` in each bucket (picked by `figure`, in milliseconds); buckets
/// without a success split the line.
fn latency_segments(
    buckets: &[Bucket<'_>],
    name: &str,
    figure: fn(&BucketTransaction) -> Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for bucket in buckets {
        match bucket.transactions.get(name).and_then(figure) {
            Some(ms) => current.push((bucket.t, ms)),
            None => {
                if !current.is_empty() {
                    segments.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// Bots alive at the end of each second.
fn active_bots(buckets: &[Bucket<'_>], x_max: f64, changes: &[f64], html: &mut Html) {
    let mut keys = Vec::new();
    let content = if buckets.is_empty() {
        Content::Nothing(NO_SERIES)
    } else {
        let mut traces = vec![Trace {
            color: palette::NEUTRAL,
            look: Look::Area,
            segments: vec![buckets.iter().map(|b| (b.t, b.active_bots)).collect()],
        }];
        if !changes.is_empty() {
            let marks = change_marks(changes, &traces);
            traces.extend(marks);
            keys.push(change_key());
        }
        Content::Chart(chart::over_time(BAND, x_max, "bots", &traces))
    };
    figure(
        html,
        "plot-bots",
        "Active bots",
        "Bots alive at the end of each second.",
        content,
        &keys,
    );
}

/// The latency of all successes of each transaction by percentile, over the whole run.
fn distribution(report: &Report, palette: &Palette<'_>, html: &mut Html) {
    let measured: Vec<_> = report
        .transactions
        .iter()
        .filter(|tx| !tx.histogram.inner().is_empty())
        .collect();
    let most = measured
        .iter()
        .map(|tx| tx.histogram.inner().len())
        .max()
        .unwrap_or(0);
    let nines = Nines::up_to(nines_for(most));
    let traces: Vec<_> = measured
        .iter()
        .map(|tx| Trace {
            color: palette.color(&tx.name),
            look: Look::Line,
            segments: vec![percentile_points(&tx.histogram, &nines)],
        })
        .collect();
    let keys: Vec<_> = measured
        .iter()
        .map(|tx| key(&tx.name, palette, Look::Line))
        .collect();
    let content = if traces.is_empty() {
        Content::Nothing("No successful transaction to measure.")
    } else {
        Content::Chart(chart::percentile_curve(nines, &traces))
    };
    figure(
        html,
        "plot-distribution",
        "Latency distribution",
        "Latency of every successful transaction over the whole run, by percentile: each \
         step right is ten times rarer.",
        content,
        &keys,
    );
}

/// How many nines the distribution shows for `samples` samples: about as many as the samples
/// can tell apart (beyond that the curve is flat at the maximum), two at least, six at most.
fn nines_for(samples: u64) -> u32 {
    let digits = (samples.max(1) as f64).log10().ceil() as u32;
    digits.clamp(2, 6)
}

/// Points `(nines, latency ms)` along `histogram`'s percentile curve, evenly spaced in nines.
fn percentile_points(histogram: &Histogram, nines: &Nines) -> Vec<(f64, f64)> {
    let xs: Vec<f64> = (0..=CURVE_POINTS)
        .map(|i| nines.max() * f64::from(i) / f64::from(CURVE_POINTS))
        .collect();
    let quantiles: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| if i == 0 { 0.0 } else { Nines::quantile(x) })
        .collect();
    let values = values_at_quantiles(histogram.inner(), &quantiles);
    xs.into_iter()
        .zip(values)
        .map(|(x, micros)| (x, micros as f64 / 1000.0))
        .collect()
}

/// Failures per second: all transactions together, and each transaction that failed when
/// there are several.
fn failures(
    buckets: &[Bucket<'_>],
    x_max: f64,
    steps: bool,
    palette: &Palette<'_>,
    html: &mut Html,
) {
    let mut traces = vec![Trace {
        color: palette::FAILURE,
        look: Look::Area,
        segments: vec![over_buckets(buckets, steps, |b| b.errors_per_s)],
    }];
    let mut keys = vec![Key {
        label: "all transactions".to_owned(),
        color: palette::css(palette::FAILURE),
        look: Look::Area,
    }];
    let failing: Vec<&str> = palette
        .names()
        .iter()
        .copied()
        .filter(|name| {
            buckets.iter().any(|b| {
                b.transactions
                    .get(name)
                    .is_some_and(|tx| tx.failed_per_s > 0.0)
            })
        })
        .collect();
    if failing.len() > 1 {
        for name in failing {
            traces.push(rate_line(buckets, name, steps, palette, |tx| {
                tx.failed_per_s
            }));
            keys.push(key(name, palette, Look::Line));
        }
    }
    let total: f64 = buckets.iter().map(|b| b.errors_per_s).sum();
    let blurb = if total > 0.0 || buckets.is_empty() {
        "Failed transactions per second."
    } else {
        "Failed transactions per second: none failed."
    };
    let content = if buckets.is_empty() {
        Content::Nothing(NO_SERIES)
    } else {
        Content::Chart(chart::over_time(
            BAND,
            x_max,
            "failures per second",
            &traces,
        ))
    };
    figure(
        html,
        "plot-errors",
        "Failures over time",
        blurb,
        content,
        &keys,
    );
}

/// The note of a time chart when the report has no per-second series.
const NO_SERIES: &str = "No per-second data in this report.";

/// The line of one transaction's `rate` over time. A second in which the transaction did not
/// appear had none: a zero, not a gap.
fn rate_line(
    buckets: &[Bucket<'_>],
    name: &str,
    steps: bool,
    palette: &Palette<'_>,
    rate: impl Fn(&BucketTransaction) -> f64,
) -> Trace {
    let points = over_buckets(buckets, steps, |b| {
        b.transactions.get(name).map_or(0.0, &rate)
    });
    Trace {
        color: palette.color(name),
        look: Look::Line,
        segments: vec![points],
    }
}

/// The legend entry of transaction `name`.
fn key(name: &str, palette: &Palette<'_>, look: Look) -> Key {
    Key {
        label: name.to_owned(),
        color: palette.css(name),
        look,
    }
}

/// Appends one figure: its caption, then its charts and legend or a note saying why there is
/// none.
fn figure(html: &mut Html, id: &str, title: &str, blurb: &str, content: Content<'_>, keys: &[Key]) {
    html.raw("<figure class=\"plot\" id=\"")
        .raw(id)
        .raw("\">\n<figcaption><h3>")
        .text(title)
        .raw("</h3><p>")
        .text(blurb)
        .raw("</p></figcaption>\n");
    match content {
        Content::Chart(drawn) => {
            chart_or_note(html, drawn);
            legend(html, keys);
        }
        Content::Multiples(multiples) => {
            html.raw("<div class=\"multiples\">\n");
            for (name, color, drawn) in multiples {
                html.raw("<div class=\"multiple\"><h4><span class=\"swatch\" style=\"--key:")
                    .text(&color)
                    .raw("\"></span>")
                    .text(name)
                    .raw("</h4>");
                chart_or_note(html, drawn);
                html.raw("</div>\n");
            }
            html.raw("</div>\n");
            legend(html, keys);
        }
        Content::Nothing(note) => {
            html.raw("<p class=\"no-data\">").text(note).raw("</p>\n");
        }
    }
    html.raw("</figure>\n");
}

/// Appends a drawn chart, or what went wrong drawing it.
fn chart_or_note(html: &mut Html, drawn: Drawn) {
    match drawn {
        Ok(svg) => {
            html.raw("<div class=\"chart\">").raw(&svg).raw("</div>\n");
        }
        Err(error) => {
            html.raw("<p class=\"no-data\">This chart could not be drawn: ")
                .display(error)
                .raw("</p>\n");
        }
    }
}

/// Appends a chart's legend.
fn legend(html: &mut Html, keys: &[Key]) {
    if keys.is_empty() {
        return;
    }
    html.raw("<ul class=\"legend\">");
    for key in keys {
        let look = match key.look {
            Look::Line => "line",
            Look::Tail => "tail",
            Look::Area => "area",
        };
        html.raw("<li><span class=\"key ")
            .raw(look)
            .raw("\" style=\"--key:")
            .text(&key.color)
            .raw("\"></span>")
            .text(&key.label)
            .raw("</li>");
    }
    html.raw("</ul>\n");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn nines_follow_the_sample_count() {
        assert_eq!(nines_for(0), 2);
        assert_eq!(nines_for(100), 2);
        assert_eq!(nines_for(5_000), 4);
        assert_eq!(nines_for(u64::MAX), 6);
    }

    #[test]
    fn percentile_points_rise_from_min_to_max() {
        let mut histogram = Histogram::new();
        for ms in 1..=1000 {
            histogram.record(Duration::from_millis(ms));
        }
        let points = percentile_points(&histogram, &Nines::up_to(3));
        assert_eq!(points.len(), CURVE_POINTS as usize + 1);
        assert_eq!(points[0], (0.0, 1.0));
        assert!(points.windows(2).all(|w| w[0].1 <= w[1].1));
        let (x, last) = *points.last().unwrap();
        assert_eq!(x, 3.0);
        assert!((last - 1000.0).abs() < 1.0, "{last}");
    }
}
