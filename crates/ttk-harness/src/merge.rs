//! The `merge` command of a load test: shard reports in, the whole run's summary and reports
//! out.

use std::path::PathBuf;

use clap::Args;
use ttk_report::{Report, ReportError, Threshold};

use super::RunOutcome;
use super::codes::{BAD_COMMAND_LINE, PASSED, RUN_FAILED, THRESHOLD_FAILED};
use super::out::print_line;
use super::report_files::write_reports;

/// `merge`'s flags: the reports to merge, and where the merged ones go.
///
/// # Examples
/// ```
/// use ttk::harness::LoadTest;
///
/// let test = LoadTest::try_from_args("shop", ["shop", "merge", "a.json", "b.json", "--json", "all.json"]);
/// let merge = test.unwrap().merge_args().cloned().unwrap();
/// assert_eq!(merge.reports.len(), 2);
/// assert_eq!(merge.json.unwrap().to_str(), Some("all.json"));
/// // `merge` takes no load flags.
/// assert!(LoadTest::try_from_args("shop", ["shop", "--bots", "3", "merge", "a.json"]).is_err());
/// ```
#[derive(Args, Clone, Debug)]
pub struct MergeArgs {
    /// The shards' JSON reports (`--json` of each shard).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,

    /// Write the merged JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write the merged HTML report here.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Check this on the merged report (as the run's `--threshold`). Repeatable.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
    pub thresholds: Vec<Threshold>,
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text).map_err(|error| error.to_string())
}

/// Whether a report that cannot be read refuses the whole merge (exit 2), rather than being
/// left out as a shard gone missing: a missing file, or one cut short (a shard killed while it
/// wrote), is left out; a whole file that is not a report this ttk reads is refused.
fn is_refused(error: &ReportError) -> bool {
    match error {
        ReportError::Schema(_) | ReportError::Invalid(_) => true,
        ReportError::Json(error) => !error.is_eof(),
        ReportError::Io(_) | ReportError::Merge(_) => false,
    }
}

impl MergeArgs {
    /// Merges the reports as the `merge` command of a load test named `name` does, for a
    /// program with a `merge` command of its own (the `ttk` command's `ttk merge`): reads the
    /// reports, prints the summary, writes the merged reports and checks the thresholds. Exit
    /// code: 0 when every shard was merged and the thresholds held (without `--threshold`,
    /// those the shards were run with), 1 when a threshold failed (or, with none, when nothing
    /// succeeded in the whole run, unless the shards' success was optional: see
    /// `RunInfo::success_optional`), 2 when the reports are not of one run, 3 when a shard is
    /// missing (the merge of the others is still written).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, MergeArgs, clap::Parser};
    ///
    /// #[derive(Parser)]
    /// struct Command {
    ///     #[command(flatten)]
    ///     merge: MergeArgs,
    /// }
    ///
    /// let dir = std::env::temp_dir().join(format!("ttk-merge-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let shard = |i: usize| {
    ///     let path = dir.join(format!("shard-{i}.json"));
    ///     let args = ["idle", "--bots", "4", "--shard", &format!("{i}/2"), "--run-id", "doc", "-q"];
    ///     let mut test = LoadTest::try_from_args("idle", args).unwrap();
    ///     test.args_mut().json = Some(path.clone());
    ///     test.run(|_cx: ttk::Cx, _session| async {});
    ///     path
    /// };
    /// let (a, b) = (shard(0), shard(1));
    /// let command = Command::parse_from(["ttk", a.to_str().unwrap(), b.to_str().unwrap()]);
    /// let outcome = command.merge.merge("idle");
    /// assert_eq!((outcome.code, outcome.report.bots.started), (0, 4));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn merge(&self, name: &str) -> RunOutcome {
        self.run(name, true)
    }

    /// Reads the reports, merges them, prints the summary, writes the merged reports and checks
    /// the thresholds. A report that cannot be read (missing, torn) is named and left out: the
    /// merge of the others is still written, and names the shards it lacks. Exit code: 0 when
    /// every shard was merged and the thresholds held (those given, or else those the shards
    /// were run with, checked on the whole run), 1 when a threshold failed (or, with none at
    /// all, when nothing succeeded in the whole run, by the rule each shard followed: not for
    /// shards run with [`LoadTest::require_success(false)`](crate::LoadTest::require_success),
    /// nor when `required` is false), 2 when the reports are not of one run or one is not a
    /// report this ttk reads (another schema, a field out of bounds, not JSON; nothing is
    /// written), 3 when a shard is missing.
    pub(crate) fn run(&self, name: &str, required: bool) -> RunOutcome {
        let mut reports = Vec::new();
        let mut unreadable = 0;
        for path in &self.reports {
            match Report::read_json(path) {
                Ok(report) => reports.push(report),
                // A report of another version, or one whose content is not a report's (out of
                // bounds, hostile), is not a shard gone missing: refuse the merge.
                Err(error) if is_refused(&error) => {
                    eprintln!("error: {}: {error}", path.display());
                    return RunOutcome::new(Report::new(name), BAD_COMMAND_LINE);
                }
                Err(error) => {
                    eprintln!("error: {} is left out: {error}", path.display());
                    unreadable += 1;
                }
            }
        }
        if reports.is_empty() {
            eprintln!("error: no report to merge could be read");
            return RunOutcome::new(Report::new(name), RUN_FAILED);
        }
        // Without thresholds of its own, the merge judges the whole run by those its shards
        // were run with (one command line: the first's are all's), as each shard was judged.
        let thresholds: Vec<Threshold> = match self.thresholds.is_empty() {
            true => reports[0]
                .thresholds
                .iter()
                .filter_map(|result| Threshold::parse(&result.expression).ok())
                .collect(),
            false => self.thresholds.clone(),
        };
        let mut merged = match Report::merge(reports) {
            Ok(merged) => merged,
            Err(error) => {
                eprintln!("error: {error}");
                return RunOutcome::new(Report::new(name), BAD_COMMAND_LINE);
            }
        };
        let passed = merged.check_thresholds(&thresholds);
        print_line(merged.summary());
        let written = write_reports(&merged, self.json.as_deref(), self.html.as_deref(), true);
        let complete = unreadable == 0
            && merged
                .run
                .shards
                .as_ref()
                .is_none_or(ttk_report::ShardSet::is_complete);
        let nothing = crate::success::fails_for_nothing_succeeded(
            &merged,
            thresholds.len(),
            required && !merged.run.success_optional,
        );
        let code = if !complete || !written {
            RUN_FAILED
        } else if !passed || nothing.is_some() {
            if let Some(why) = &nothing {
                crate::success::explain(why);
            }
            THRESHOLD_FAILED
        } else {
            PASSED
        };
        RunOutcome::new(merged, code)
    }
}
