//! The harness's rule for a run without thresholds: it passes only if something succeeded.
//!
//! A run whose every bot failed, or in which no transaction succeeded, measured nothing worth
//! passing (a target that was down, a typo in `--target`): without a `--threshold` to judge it,
//! it exits with 1, as a failed threshold does. A `--threshold` given, or
//! [`LoadTest::require_success(false)`](super::LoadTest::require_success), leaves the verdict to
//! the thresholds alone.

use ttk_report::Report;

/// Why the run fails by the rule, if it does: no threshold given, success `required`, and
/// nothing succeeded.
pub(crate) fn fails_for_nothing_succeeded(
    report: &Report,
    thresholds: usize,
    required: bool,
) -> Option<String> {
    match thresholds == 0 && required {
        true => report.nothing_succeeded(),
        false => None,
    }
}

/// Says on standard error why the run failed by the rule.
pub(crate) fn explain(why: &str) {
    eprintln!(
        "error: {why}: the run fails (exit code 1); a --threshold given judges the run instead"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ttk_report::TransactionReport;

    fn report(started: u64, failed: u64, transactions: &[(u64, u64)]) -> Report {
        let mut report = Report::new("rule");
        report.bots.started = started;
        report.bots.failed = failed;
        report.bots.finished = started - failed;
        for (i, &(ok, failed)) in transactions.iter().enumerate() {
            let mut transaction = TransactionReport::new(&format!("t{i}"));
            transaction.ok = ok;
            transaction.failed = failed;
            report.transactions.push(transaction);
        }
        report
    }

    #[test]
    fn nothing_succeeded_when_every_bot_failed_or_no_transaction_did() {
        assert!(
            report(3, 3, &[(5, 0)])
                .nothing_succeeded()
                .unwrap()
                .contains("every bot")
        );
        assert!(
            report(3, 0, &[(0, 4), (0, 1)])
                .nothing_succeeded()
                .unwrap()
                .contains("0 of 5")
        );
        assert_eq!(report(3, 2, &[(0, 4), (1, 0)]).nothing_succeeded(), None);
        // Bots that time nothing (or no bot at all) are not a failure.
        assert_eq!(report(3, 0, &[]).nothing_succeeded(), None);
        assert_eq!(report(0, 0, &[]).nothing_succeeded(), None);
    }

    #[test]
    fn thresholds_or_the_opt_out_leave_the_verdict_to_the_thresholds() {
        let failed = report(2, 2, &[]);
        assert!(fails_for_nothing_succeeded(&failed, 0, true).is_some());
        assert_eq!(fails_for_nothing_succeeded(&failed, 1, true), None);
        assert_eq!(fails_for_nothing_succeeded(&failed, 0, false), None);
    }
}
