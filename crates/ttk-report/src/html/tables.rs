//! The page's tables: transactions, thresholds, failures, counters and gauges, bots.

use super::escape::Html;
use super::format;
use super::palette::Palette;
use crate::{ErrorTally, Report};

/// Appends the summary table: one row per transaction.
pub(crate) fn summary(report: &Report, palette: &Palette<'_>, html: &mut Html) {
    html.raw("<section id=\"summary\">\n<h2>Transactions</h2>\n");
    if report.transactions.is_empty() {
        empty(html, "No transaction was recorded.");
        html.raw("</section>\n");
        return;
    }
    // Abandoned and stopped transactions are rare; their columns appear only when they occur.
    let abandoned = report.transactions.iter().any(|tx| tx.abandoned > 0);
    let stopped = report.transactions.iter().any(|tx| tx.stopped > 0);
    html.raw("<div class=\"scroll\"><table class=\"summary\">\n<thead><tr>")
        .raw("<th class=\"name\">Transaction</th><th>OK</th><th>Failed</th>");
    if abandoned {
        html.raw("<th>Abandoned</th>");
    }
    if stopped {
        html.raw("<th>Stopped</th>");
    }
    html.raw("<th>Rate/s</th><th>Mean</th><th>p50</th><th>p90</th><th>p99</th>")
        .raw("<th>p99.9</th><th>Max</th></tr></thead>\n<tbody>\n");
    for tx in &report.transactions {
        html.raw("<tr><td class=\"name\">");
        swatch(html, &palette.css(&tx.name));
        html.text(&tx.name)
            .raw("</td><td>")
            .text(&format::count(tx.ok))
            .raw("</td>");
        if tx.failed > 0 {
            let share = format::percent(tx.failed, tx.ok + tx.failed).unwrap_or_default();
            html.raw("<td class=\"bad\">")
                .text(&format::count(tx.failed))
                .raw(" <small>")
                .text(&share)
                .raw("</small></td>");
        } else {
            html.raw("<td class=\"zero\">0</td>");
        }
        if abandoned {
            number_cell(html, tx.abandoned);
        }
        if stopped {
            number_cell(html, tx.stopped);
        }
        html.raw("<td>")
            .text(&format::rate(tx.rate(report.run.duration_s)))
            .raw("</td>");
        let latency = tx.latency();
        if latency.count == 0 {
            html.raw("<td class=\"zero\" colspan=\"6\">no successes</td>");
        } else {
            let figures = [
                latency.mean_us,
                latency.p50_us as f64,
                latency.p90_us as f64,
                latency.p99_us as f64,
                latency.p999_us as f64,
                latency.max_us as f64,
            ];
            for micros in figures {
                html.raw("<td>").text(&format::millis(micros)).raw("</td>");
            }
        }
        html.raw("</tr>\n");
    }
    html.raw("</tbody></table></div>\n</section>\n");
}

/// Appends the thresholds and how the run did against each.
pub(crate) fn thresholds(report: &Report, html: &mut Html) {
    html.raw("<section id=\"thresholds\">\n<h2>Thresholds</h2>\n");
    if report.thresholds.is_empty() {
        empty(html, "No threshold was set for this run.");
    } else {
        html.raw("<table class=\"thresholds\">\n<thead><tr><th class=\"name\">Threshold</th>")
            .raw("<th>Measured</th><th>Limit</th><th class=\"result\">Result</th></tr></thead>\n")
            .raw("<tbody>\n");
        for threshold in &report.thresholds {
            let (class, word) = if threshold.passed {
                ("good", "passed")
            } else {
                ("bad", "failed")
            };
            html.raw("<tr><td class=\"name\"><code>")
                .text(&threshold.expression)
                .raw("</code></td><td>")
                .text(&threshold.measured)
                .raw("</td><td>")
                .text(&threshold.limit)
                .raw("</td><td class=\"result\"><span class=\"badge ")
                .raw(class)
                .raw("\">")
                .raw(word)
                .raw("</span></td></tr>\n");
        }
        html.raw("</tbody></table>\n");
    }
    html.raw("</section>\n");
}

/// Appends the failures of every transaction by kind, with sample messages.
pub(crate) fn errors(report: &Report, palette: &Palette<'_>, html: &mut Html) {
    html.raw("<section id=\"errors\">\n<h2>Failures</h2>\n");
    let failing: Vec<_> = report
        .transactions
        .iter()
        .filter(|tx| !tx.errors.is_empty())
        .collect();
    if failing.is_empty() {
        empty(html, "No transaction failed.");
    } else {
        html.raw("<div class=\"scroll\"><table class=\"errors\">\n<thead><tr>")
            .raw("<th class=\"name\">Transaction</th>")
            .raw("<th class=\"name\">Kind</th><th>Count</th><th class=\"name\">Samples</th>")
            .raw("</tr></thead>\n<tbody>\n");
        for tx in failing {
            for tally in &tx.errors {
                html.raw("<tr><td class=\"name\">");
                swatch(html, &palette.css(&tx.name));
                html.text(&tx.name).raw("</td>");
                tally_cells(html, tally);
                html.raw("</tr>\n");
            }
        }
        html.raw("</tbody></table></div>\n");
    }
    html.raw("</section>\n");
}

/// Appends the counters and gauges.
pub(crate) fn metrics(report: &Report, html: &mut Html) {
    html.raw("<section id=\"metrics\">\n<h2>Counters and gauges</h2>\n");
    if report.counters.is_empty() && report.gauges.is_empty() {
        empty(html, "The load test kept no counter or gauge.");
    }
    html.raw("<div class=\"side-by-side\">\n");
    if !report.counters.is_empty() {
        html.raw("<table class=\"counters\">\n<thead><tr><th class=\"name\">Counter</th>")
            .raw("<th>Total</th></tr></thead>\n<tbody>\n");
        for (name, value) in &report.counters {
            html.raw("<tr><td class=\"name\">")
                .text(name)
                .raw("</td><td>")
                .text(&format::count(*value))
                .raw("</td></tr>\n");
        }
        html.raw("</tbody></table>\n");
    }
    if !report.gauges.is_empty() {
        html.raw("<table class=\"gauges\">\n<thead><tr><th class=\"name\">Gauge</th>")
            .raw("<th>Last</th><th>Min</th><th>Max</th></tr></thead>\n<tbody>\n");
        for (name, gauge) in &report.gauges {
            html.raw("<tr><td class=\"name\">").text(name).raw("</td>");
            for value in [gauge.last, gauge.min, gauge.max] {
                html.raw("<td>").text(&format::signed(value)).raw("</td>");
            }
            html.raw("</tr>\n");
        }
        html.raw("</tbody></table>\n");
    }
    html.raw("</div>\n</section>\n");
}

/// Appends how the bots ended, and their failures by kind.
pub(crate) fn bots(report: &Report, html: &mut Html) {
    let bots = &report.bots;
    html.raw("<section id=\"bots\">\n<h2>Bots</h2>\n<table class=\"bots\">\n<thead><tr>")
        .raw("<th>Started</th><th>Finished</th><th>Failed</th><th>Stopped</th></tr></thead>\n")
        .raw("<tbody><tr>");
    number_cell(html, bots.started);
    number_cell(html, bots.finished);
    if bots.failed > 0 {
        html.raw("<td class=\"bad\">")
            .text(&format::count(bots.failed))
            .raw("</td>");
    } else {
        number_cell(html, 0);
    }
    number_cell(html, bots.stopped);
    html.raw("</tr></tbody></table>\n");
    if !bots.errors.is_empty() {
        html.raw("<table class=\"errors\">\n<thead><tr><th class=\"name\">Kind</th>")
            .raw("<th>Count</th><th class=\"name\">Samples</th></tr></thead>\n<tbody>\n");
        for tally in &bots.errors {
            html.raw("<tr>");
            tally_cells(html, tally);
            html.raw("</tr>\n");
        }
        html.raw("</tbody></table>\n");
    }
    html.raw("</section>\n");
}

/// The kind, count and samples cells of one error tally.
fn tally_cells(html: &mut Html, tally: &ErrorTally) {
    html.raw("<td class=\"name\"><code>")
        .text(&tally.kind)
        .raw("</code></td><td class=\"bad\">")
        .text(&format::count(tally.count))
        .raw("</td><td class=\"name samples\">");
    if tally.samples.is_empty() {
        html.raw("<span class=\"zero\">no message</span>");
    } else {
        html.raw("<ul>");
        for sample in &tally.samples {
            html.raw("<li><code>").text(sample).raw("</code></li>");
        }
        html.raw("</ul>");
    }
    html.raw("</td>");
}

/// A cell with a count, grayed when zero.
fn number_cell(html: &mut Html, n: u64) {
    let class = if n == 0 { " class=\"zero\"" } else { "" };
    html.raw("<td")
        .raw(class)
        .raw(">")
        .text(&format::count(n))
        .raw("</td>");
}

/// A transaction's color, as in the charts.
fn swatch(html: &mut Html, css: &str) {
    html.raw("<span class=\"swatch\" style=\"--key:")
        .text(css)
        .raw("\"></span>");
}

/// A note standing for a table with no row.
fn empty(html: &mut Html, note: &str) {
    html.raw("<p class=\"no-data\">").text(note).raw("</p>\n");
}
