//! The top of the page: what ran, how it ended, its headline figures and its parameters.

use super::escape::Html;
use super::format;
use crate::Report;

/// Appends the page header of `report`.
pub(crate) fn header(report: &Report, html: &mut Html) {
    let run = &report.run;
    let version = if run.ttk_version.is_empty() {
        "unknown version"
    } else {
        &run.ttk_version
    };
    html.raw("<header class=\"run\">\n<p class=\"eyebrow\">Load test report · ttk ")
        .text(version)
        .raw("</p>\n<h1>")
        .text(&run.name)
        .raw("</h1>\n<p class=\"verdict\"><span class=\"badge ")
        .raw(end_class(&run.end))
        .raw("\">")
        .text(if run.end.is_empty() {
            "unknown end"
        } else {
            &run.end
        })
        .raw("</span>");
    if let Some(detail) = &run.end_detail {
        html.raw(" <span class=\"detail\">")
            .text(detail)
            .raw("</span>");
    }
    if let Some(missing) = run.shards.as_ref().and_then(|set| set.describe_missing()) {
        html.raw(" <span class=\"badge bad\">incomplete</span> <span class=\"detail\">")
            .text(&missing)
            .raw("</span>");
    }
    if !report.thresholds.is_empty() {
        let passed = report.thresholds.iter().filter(|t| t.passed).count();
        let class = if passed == report.thresholds.len() {
            "good"
        } else {
            "bad"
        };
        html.raw(" <span class=\"badge ")
            .raw(class)
            .raw("\">")
            .display(format_args!(
                "{passed} of {} thresholds passed",
                report.thresholds.len()
            ))
            .raw("</span>");
    }
    html.raw("</p>\n");
    tiles(report, html);
    html.raw("</header>\n");
    parameters(report, html);
}

/// The CSS class of a run's end: only fixed names reach the markup, whatever the report says.
fn end_class(end: &str) -> &'static str {
    match end {
        "completed" | "duration" => "good",
        "interrupted" => "warn",
        // A live view of a run still going on.
        "running" => "live",
        _ => "bad",
    }
}

/// The headline figures, one tile each.
fn tiles(report: &Report, html: &mut Html) {
    let run = &report.run;
    // Unlike transactions (a connect and a request) do not add up: the headline figures are
    // the busiest transaction's, named when there are several.
    let busiest = report
        .transactions
        .iter()
        .max_by_key(|tx| tx.ok + tx.failed);
    let (ok, failed) = busiest.map_or((0, 0), |tx| (tx.ok, tx.failed));
    let of = match (busiest, report.transactions.len()) {
        (Some(tx), 2..) => format!(" · {}", tx.name),
        _ => String::new(),
    };
    let rate = if run.duration_s > 0.0 {
        ok as f64 / run.duration_s
    } else {
        0.0
    };
    let failed_share = format::percent(failed, ok + failed).unwrap_or_else(|| "–".to_owned());
    let peak_bots = report
        .series
        .iter()
        .map(|s| s.active_bots)
        .max()
        .unwrap_or(0);
    // A run shorter than a second ends before any second closes with bots alive.
    let bots = match peak_bots {
        0 => (
            "Bots started".to_owned(),
            format::count(report.bots.started),
        ),
        _ => ("Peak bots".to_owned(), format::count(peak_bots)),
    };
    let started = format::utc(run.started_unix_s).unwrap_or_else(|| "unknown".to_owned());
    let tiles = [
        ("Started (UTC)".to_owned(), started),
        ("Duration".to_owned(), format::duration(run.duration_s)),
        (format!("Successes{of}"), format::count(ok)),
        (
            format!("Throughput{of}"),
            format!("{}/s", format::rate(rate)),
        ),
        (
            format!("Failed{of}"),
            format!("{} ({failed_share})", format::count(failed)),
        ),
        bots,
    ];
    html.raw("<dl class=\"tiles\">\n");
    for (name, value) in &tiles {
        let class = match name.as_str() {
            name if name.starts_with("Failed") && failed > 0 => " class=\"bad\"",
            "Started (UTC)" => " class=\"wide\"",
            _ => "",
        };
        html.raw("<div")
            .raw(class)
            .raw("><dt>")
            .text(name)
            .raw("</dt><dd>")
            .text(value)
            .raw("</dd></div>\n");
    }
    html.raw("</dl>\n");
}

/// The parameters the run was given, those that were set.
fn parameters(report: &Report, html: &mut Html) {
    let given = &report.run.parameters;
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(bots) = given.bots {
        rows.push(("Bots", format::count(bots)));
    }
    if let Some(ramp_up) = &given.ramp_up {
        rows.push(("Ramp-up", ramp_up.clone()));
    }
    if let Some(rate) = &given.rate {
        rows.push(("Rate", rate.clone()));
    }
    if let Some(duration) = &given.duration {
        rows.push(("Duration", duration.clone()));
    }
    if let Some(iterations) = given.iterations {
        rows.push(("Iterations per bot", format::count(iterations)));
    }
    if let Some(target) = &given.target {
        rows.push(("Target", target.clone()));
    }
    rows.push(("Seed", given.seed.to_string()));
    if report.run.processes > 1 {
        rows.push((
            "Processes merged",
            format::count(u64::from(report.run.processes)),
        ));
    }
    if let Some(shard) = &report.run.shard {
        rows.push(("Shard", format!("{} of {}", shard.index, shard.count)));
    }
    if let Some(set) = &report.run.shards {
        let merged: Vec<String> = set.merged.iter().map(u32::to_string).collect();
        rows.push((
            "Shards merged",
            format!(
                "{} of {}: {}",
                set.merged.len(),
                set.count,
                merged.join(", ")
            ),
        ));
    }
    if let Some(start_at) = &given.start_at {
        rows.push(("Start at", start_at.clone()));
    }
    if let Some(net) = &given.net {
        rows.push(("Network", net.clone()));
    }
    if let Some(sources) = &given.local_ips {
        rows.push(("Source addresses", sources.clone()));
    }
    if !report.run.changes.is_empty() {
        let changes: Vec<String> = report
            .run
            .changes
            .iter()
            .map(|change| format!("at {}: {}", format::duration(change.t_s), change.what))
            .collect();
        rows.push(("Load changed", changes.join("; ")));
    }
    if !report.run.run_id.is_empty() {
        rows.push(("Run id", report.run.run_id.clone()));
    }

    html.raw("<section id=\"parameters\">\n<h2>Parameters</h2>\n<dl class=\"params\">\n");
    for (name, value) in rows {
        html.raw("<div><dt>")
            .text(name)
            .raw("</dt><dd>")
            .text(&value)
            .raw("</dd></div>\n");
    }
    html.raw("</dl>\n");
    if !given.command_line.is_empty() {
        html.raw("<p class=\"command\"><code>")
            .text(&shell_words(&given.command_line))
            .raw("</code></p>\n");
    }
    html.raw("</section>\n");
}

/// A command line as a shell would take it back: words with spaces or quotes single-quoted.
fn shell_words(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let words = [
            "ttk-demo",
            "--rate",
            "10/s:30s",
            "--name",
            "it's a test",
            "",
        ];
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            shell_words(&words),
            r"ttk-demo --rate 10/s:30s --name 'it'\''s a test' ''"
        );
    }

    #[test]
    fn only_known_ends_choose_the_badge() {
        assert_eq!(end_class("completed"), "good");
        assert_eq!(end_class("interrupted"), "warn");
        assert_eq!(end_class("\" onmouseover=\"x"), "bad");
    }
}
