//! The report as one HTML page: header, tables and charts in a single file that opens offline.
//!
//! The page loads nothing: its style sheet is inline, its charts are inline SVG drawn with
//! plotters, and it has no script. A Content-Security-Policy says so to the browser too, so
//! that even markup that slipped past escaping could neither run nor fetch anything.

use std::io;
use std::path::Path;

use crate::Report;

mod axes;
mod buckets;
mod chart;
mod escape;
#[cfg(test)]
mod first_read;
mod format;
mod header;
mod palette;
mod plots;
mod tables;

use escape::Html;
use palette::Palette;

/// The page's style sheet, kept in its own file to be read and edited as CSS.
const STYLE: &str = include_str!("html/style.css");

/// What the page may load and run: inline style, nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// What a live page may load and run: inline style, scripts from its own server (never inline
/// ones), requests to that server.
const LIVE_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'";

impl Report {
    /// The report as a self-contained HTML page: run header and parameters, a summary per
    /// transaction, thresholds, charts over time and of the latency distribution, failures
    /// with sample messages, counters, gauges and bots.
    ///
    /// Every piece of text that came from the run (names, messages, parameters) is escaped.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let mut login = TransactionReport::new("login");
    /// login.record_ok(Duration::from_millis(12));
    /// let mut report = Report::new("<demo>");
    /// report.transactions.push(login);
    ///
    /// let html = report.to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>"));
    /// assert!(html.contains("<h1>&lt;demo&gt;</h1>"));
    /// assert!(html.contains(r#"<figure class="plot" id="plot-distribution">"#));
    /// ```
    pub fn to_html(&self) -> String {
        self.page(CONTENT_SECURITY_POLICY, None)
    }

    /// The page of a run still going on, as a live dashboard serves it: [`Report::to_html`]
    /// with the script at `script` (a path on the same server) loaded, which may fetch from
    /// that server and nothing else; the run's figures are escaped as in the report, and no
    /// inline script may run. The script refreshes `<main>` with [`Report::html_main`].
    ///
    /// # Examples
    /// ```
    /// let page = ttk_report::Report::new("shop").to_live_html("/dashboard.js");
    /// assert!(page.contains(r#"<script src="/dashboard.js"></script>"#));
    /// assert!(page.contains("script-src 'self'; connect-src 'self'"));
    /// assert!(!page.contains("script-src 'unsafe-inline'"));
    /// ```
    pub fn to_live_html(&self, script: &str) -> String {
        self.page(LIVE_CONTENT_SECURITY_POLICY, Some(script))
    }

    /// What the page's `<main>` holds: header, tables and charts, for a live page to swap in.
    ///
    /// # Examples
    /// ```
    /// let main = ttk_report::Report::new("shop").html_main();
    /// assert!(main.contains("<h1>shop</h1>"));
    /// assert!(!main.contains("<main>"));
    /// ```
    pub fn html_main(&self) -> String {
        let mut html = Html::new();
        self.main_into(&mut html);
        html.finish()
    }

    /// The whole page, under `policy`, with `script` loaded if given.
    fn page(&self, policy: &str, script: Option<&str>) -> String {
        let mut html = Html::new();
        html.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .raw("<meta http-equiv=\"Content-Security-Policy\" content=\"")
            .raw(policy)
            .raw("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .raw("<meta name=\"generator\" content=\"ttk ")
            .text(env!("CARGO_PKG_VERSION"))
            .raw("\">\n<title>")
            .text(&self.run.name)
            .raw(" — ttk report</title>\n<style>\n")
            .raw(STYLE)
            .raw("</style>\n</head>\n<body>\n<main>\n");
        self.main_into(&mut html);
        html.raw("</main>\n<footer>Written by ttk ")
            .text(env!("CARGO_PKG_VERSION"))
            .raw(" from a report of schema <code>")
            .text(&self.schema)
            .raw("</code>.</footer>\n");
        if let Some(script) = script {
            html.raw("<script src=\"")
                .text(script)
                .raw("\"></script>\n");
        }
        html.raw("</body>\n</html>\n");
        html.finish()
    }

    /// The page's main part.
    fn main_into(&self, html: &mut Html) {
        let palette = Palette::of(self);
        header::header(self, html);
        tables::summary(self, &palette, html);
        tables::thresholds(self, html);
        plots::plots(self, &palette, html);
        tables::errors(self, &palette, html);
        tables::metrics(self, html);
        tables::bots(self, html);
    }

    /// Writes [`Report::to_html`] to `path`, atomically (see [`crate::write_atomically`]).
    ///
    /// # Errors
    /// Writing failed; the message names the path.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("ttk-html-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("report.html");
    /// ttk_report::Report::new("demo").write_html(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("<title>demo — ttk report</title>"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn write_html(&self, path: &Path) -> io::Result<()> {
        crate::write_atomically(path, self.to_html().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        ErrorTally, GaugeReport, Histogram, SecondReport, SecondTransaction, ThresholdResult,
        TransactionReport,
    };

    /// Markup that would show if it ever ran or rendered: a script, an image with a handler,
    /// an attribute break-out.
    const HOSTILE: &str =
        r#"<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">"#;

    /// The id of every chart.
    const PLOTS: [&str; 5] = [
        "plot-throughput",
        "plot-latency",
        "plot-bots",
        "plot-distribution",
        "plot-errors",
    ];

    /// A small report carrying [`HOSTILE`] in every place run text can be.
    fn hostile_report() -> Report {
        let mut report = Report::new(HOSTILE);
        report.run.end = HOSTILE.to_owned();
        report.run.end_detail = Some(HOSTILE.to_owned());
        report.run.parameters.target = Some(HOSTILE.to_owned());
        report.run.parameters.rate = Some(HOSTILE.to_owned());
        report.run.parameters.command_line = vec!["demo".to_owned(), HOSTILE.to_owned()];
        let mut tx = TransactionReport::new(HOSTILE);
        tx.record_ok(Duration::from_millis(5));
        tx.failed = 1;
        tx.errors.push(ErrorTally {
            kind: HOSTILE.to_owned(),
            count: 1,
            samples: vec![HOSTILE.to_owned()],
        });
        report.transactions.push(tx);
        report.counters.insert(HOSTILE.to_owned(), 1);
        report
            .gauges
            .insert(HOSTILE.to_owned(), GaugeReport::default());
        report.bots.errors.push(ErrorTally {
            kind: HOSTILE.to_owned(),
            count: 1,
            samples: vec![HOSTILE.to_owned()],
        });
        report.thresholds.push(ThresholdResult {
            expression: HOSTILE.to_owned(),
            measured: HOSTILE.to_owned(),
            limit: HOSTILE.to_owned(),
            passed: false,
        });
        let mut histogram = Histogram::new();
        histogram.record(Duration::from_millis(5));
        let second = SecondTransaction::new(1, 1, &histogram);
        report.series.push(SecondReport {
            t: 1,
            active_bots: 1,
            errors: 1,
            transactions: [(HOSTILE.to_owned(), second)].into(),
            ..SecondReport::default()
        });
        report
    }

    #[test]
    fn run_text_appears_only_escaped() {
        let html = hostile_report().to_html();
        assert!(!html.contains("<script"), "a script element in the page");
        assert!(!html.contains("<img"), "an img element in the page");
        assert!(
            !html.contains("onerror=\""),
            "an event handler attribute in the page"
        );
        let escaped = escape::escape(HOSTILE);
        // Title, heading, end, detail, rate, target, command line, transaction (summary and
        // errors), error kind and sample, counter, gauge, bot error kind and sample, threshold
        // expression, measured and limit.
        let places = html.matches(&escaped).count();
        assert!(places >= 17, "escaped text in {places} places");
    }

    #[test]
    fn charts_hold_no_run_text() {
        let html = hostile_report().to_html();
        for svg in html.split("<svg").skip(1) {
            let svg = &svg[..svg.find("</svg>").expect("every svg is closed")];
            assert!(!svg.contains("pwned"), "run text inside a chart: {svg}");
        }
    }

    #[test]
    fn empty_report_renders_notes_instead_of_charts() {
        let html = Report::new("empty").to_html();
        assert!(html.ends_with("</html>\n"));
        assert!(!html.contains("<svg"));
        for id in PLOTS {
            let at = html.find(&format!("id=\"{id}\"")).expect(id);
            let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
            assert!(figure.contains("class=\"no-data\""), "{figure}");
        }
        assert!(html.contains("No transaction was recorded."));
    }

    #[test]
    fn every_chart_is_drawn_when_there_is_data() {
        let html = hostile_report().to_html();
        for id in PLOTS {
            let at = html.find(&format!("id=\"{id}\"")).expect(id);
            let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
            assert!(figure.contains("<svg"), "{id}: {figure}");
        }
    }

    #[test]
    fn page_loads_and_runs_nothing() {
        let html = hostile_report().to_html();
        assert!(html.contains(CONTENT_SECURITY_POLICY));
        for external in ["<link", "<iframe", "<object", "href=", "url(", "@import"] {
            assert!(!html.contains(external), "{external} in the page");
        }
    }
}
