//! Metrics as bots record them: how unfinished transactions count. (Load shapes and what the
//! harness reports are the facade's `metrics.rs`.)

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ttk_core::{Cx, MetricsSnapshot, Runtime};
use ttk_macros::bot;

/// Totals of one transaction over every snapshot: (ok, failed, abandoned, stopped).
fn totals(snapshots: &[MetricsSnapshot], name: &str) -> (u64, u64, u64, u64) {
    snapshots
        .iter()
        .flat_map(|snapshot| &snapshot.transactions)
        .filter(|transaction| transaction.name == name)
        .fold((0, 0, 0, 0), |(ok, failed, abandoned, stopped), t| {
            (
                ok + t.ok,
                failed + t.failed,
                abandoned + t.abandoned,
                stopped + t.stopped,
            )
        })
}

/// Bot 0 finishes its transaction; bot 1 gives up on it; bot 2 panics in the middle of it;
/// bot 3 is still in it when the deadline stops the run.
#[bot(crate = ttk_core)]
fn unfinished(cx: Cx, id: usize) {
    let work = cx.transaction("work");
    ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(1)));
    match id {
        0 => {
            work.ok();
        }
        1 => drop(work),
        2 => panic!("bot 2 fails mid-transaction"),
        _ => {
            ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3600)));
            work.ok();
        }
    }
}

#[test]
fn unfinished_transactions_count_as_abandoned_stopped_or_failed_never_as_successes() {
    let snapshots = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&snapshots);
    let report = Runtime::new()
        .virtual_time(true)
        .deadline(Duration::from_secs(10))
        .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
        .execute(4, unfinished);
    assert_eq!(report.end, ttk_core::RunEnd::DeadlineReached);
    let snapshots = snapshots.borrow();
    // ok 1; failed: the one whose bot panicked; abandoned: the one given up; stopped: 1.
    assert_eq!(totals(&snapshots, "work"), (1, 1, 1, 1));
    let failed = snapshots
        .iter()
        .flat_map(|snapshot| &snapshot.transactions)
        .flat_map(|transaction| &transaction.errors)
        .map(|error| error.kind.as_str())
        .collect::<Vec<_>>();
    assert_eq!(failed, ["panicked"]);
    // Ten seconds on the grid, then the rest.
    assert_eq!(snapshots.len(), 11);
    assert!(snapshots[..10].iter().enumerate().all(|(n, snapshot)| {
        snapshot.elapsed == Duration::from_secs(n as u64 + 1) && !snapshot.last
    }));
    assert!(snapshots[10].last);
}

/// Sends to a bot that has ended and to an id no bot of the run has (as a bot of another
/// process would be), then to one that takes it.
#[bot(crate = ttk_core)]
fn mailer(cx: Cx<u8>, id: usize) -> Option<u8> {
    match id {
        0 => {
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
            cx.send(1, 1); // ended
            cx.send(99, 2); // none
            cx.send(2, 3);
            None
        }
        1 => None,
        _ => Some(ttk_core::yield_!(cx.recv()).data),
    }
}

/// Messages dropped for want of a bot to take them are counted: they would otherwise show as
/// a receive that timed out, with nothing to say why.
#[test]
fn messages_no_bot_takes_are_counted_as_dropped() {
    let snapshots = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&snapshots);
    let outputs = Runtime::new()
        .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
        .run(3, mailer);
    assert_eq!(outputs, [None, None, Some(3)]);
    let dropped: u64 = snapshots
        .borrow()
        .iter()
        .flat_map(|snapshot| &snapshot.counters)
        .filter(|(name, _)| name == "messages dropped (no bot with that id running here)")
        .map(|(_, count)| count)
        .sum();
    assert_eq!(dropped, 2);
}
