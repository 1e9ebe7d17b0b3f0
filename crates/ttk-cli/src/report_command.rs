//! `ttk report`: a JSON report's summary, its HTML page, thresholds checked against it.

use std::path::PathBuf;

use clap::Args;
use ttk::cli::ttk_report::{Report, Threshold};

/// `ttk report`'s flags.
#[derive(Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    ttk report run.json --html run.html\n  \
    ttk report run.json --threshold 'p99(request) < 10ms' --threshold 'failures < 0.1%'\n\n\
    Exit codes: 0 read (and every threshold held), 1 a threshold failed (without one: nothing \
    succeeded in the run, as the run itself judged), 2 bad command line \
    or a report this ttk cannot read, 3 a report could not be written.")]
pub(crate) struct ReportArgs {
    /// A JSON report (`--json` of a run, or of a merge)
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,

    /// Write its HTML page here (one file, works offline)
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,

    /// Write the report, with the thresholds' results, as JSON here
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// Check this against the report (the run's own thresholds are replaced); repeatable
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
    thresholds: Vec<Threshold>,
}

impl ReportArgs {
    /// Prints the summary and writes what was asked; the exit code.
    pub(crate) fn run(self) -> u8 {
        let mut report = match Report::read_json(&self.report) {
            Ok(report) => report,
            Err(error) => {
                eprintln!("error: {}: {error}", self.report.display());
                return 2;
            }
        };
        let held = if self.thresholds.is_empty() {
            report.thresholds.iter().all(|result| result.passed)
        } else {
            report.check_thresholds(&self.thresholds)
        };
        // Judged as its run was: without a threshold, a run in which nothing succeeded fails.
        let nothing = match report.thresholds.is_empty() && !report.run.success_optional {
            true => report.nothing_succeeded(),
            false => None,
        };
        print!("{}", report.summary());
        if let Some(why) = &nothing {
            eprintln!(
                "error: {why}: the run fails (exit code 1); a --threshold given judges it instead"
            );
        }
        if let Some(path) = &self.html {
            if let Err(error) = report.write_html(path) {
                eprintln!("error: cannot write {}: {error}", path.display());
                return 3;
            }
            println!("HTML report: {}", path.display());
        }
        if let Some(path) = &self.json {
            if let Err(error) = report.write_json(path) {
                eprintln!("error: cannot write {}: {error}", path.display());
                return 3;
            }
            println!("JSON report: {}", path.display());
        }
        if held && nothing.is_none() { 0 } else { 1 }
    }
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text).map_err(|error| error.to_string())
}
