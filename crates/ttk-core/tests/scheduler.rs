//! The scheduler's contract: tick order, yields, parking, results in id order.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use ttk_core::{BotErrorKind, Cx};
use ttk_macros::bot;

/// A log shared by the bots of one test (bots need not be `Send`).
type Log = Rc<RefCell<Vec<String>>>;

#[bot(crate = ttk_core)]
fn stepper(_cx: Cx, id: usize, steps: usize, log: Log) -> usize {
    for step in 0..steps {
        log.borrow_mut().push(format!("{id}:{step}"));
        ttk_core::yield_!();
    }
    id
}

#[test]
fn a_tick_runs_every_ready_bot_once_in_id_order_and_finished_bots_drop_out() {
    let log = Log::default();
    let steps = [3, 1, 2];
    let results = ttk_core::run(3, |cx, id| stepper(cx, id, steps[id], log.clone()));
    assert_eq!(results, vec![0, 1, 2]);
    assert_eq!(
        *log.borrow(),
        ["0:0", "1:0", "2:0", "0:1", "2:1", "0:2"].map(String::from)
    );
}

#[bot(crate = ttk_core)]
fn nested_helper(log: Log, name: &'static str) -> &'static str {
    log.borrow_mut().push(format!("{name} before"));
    ttk_core::yield_!();
    log.borrow_mut().push(format!("{name} after"));
    name
}

#[bot(crate = ttk_core)]
fn calls_helper(_cx: Cx, id: usize, log: Log) -> String {
    let name = ttk_core::yield_!(nested_helper(log.clone(), ["a", "b"][id]));
    format!("{name}!")
}

#[test]
fn a_yield_inside_a_helper_bot_suspends_the_caller_for_one_tick() {
    let log = Log::default();
    let results = ttk_core::run(2, |cx, id| calls_helper(cx, id, log.clone()));
    assert_eq!(results, ["a!", "b!"]);
    assert_eq!(
        *log.borrow(),
        ["a before", "b before", "a after", "b after"].map(String::from)
    );
}

/// A leaf operation that never becomes ready and counts how often it is polled.
struct NeverReady(Rc<Cell<u32>>);

impl Future for NeverReady {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        Poll::Pending
    }
}

#[bot(crate = ttk_core)]
fn parked_or_busy(_cx: Cx, id: usize, polls: Rc<Cell<u32>>) {
    if id == 0 {
        ttk_core::yield_!(NeverReady(polls));
    } else {
        for _ in 0..1000 {
            ttk_core::yield_!();
        }
    }
}

#[test]
fn a_parked_bot_is_not_polled_again_and_is_reported_as_stalled_at_the_end() {
    let polls = Rc::new(Cell::new(0));
    let outcomes = ttk_core::try_run(3, |cx, id| parked_or_busy(cx, id, polls.clone()));
    assert_eq!(
        polls.get(),
        1,
        "a parked bot must cost nothing while others run"
    );
    let error = outcomes[0].as_ref().unwrap_err();
    assert_eq!(error.bot(), 0);
    assert_eq!(error.kind(), &BotErrorKind::Stalled);
    assert!(outcomes[1].is_ok() && outcomes[2].is_ok());
}

#[bot(crate = ttk_core)]
fn returns_early(_cx: Cx, id: usize) -> Result<usize, String> {
    if id == 1 {
        return Err("odd one out".to_owned());
    }
    let parsed: usize = "7".parse().map_err(|_| "bad number".to_owned())?;
    ttk_core::yield_!();
    Ok(parsed + id)
}

#[test]
fn return_and_question_mark_work_as_in_a_plain_fn() {
    let results = ttk_core::run(3, returns_early);
    assert_eq!(results, [Ok(7), Err("odd one out".to_owned()), Ok(9)]);
}

#[test]
fn a_closure_can_build_the_bots_and_zero_bots_is_an_empty_run() {
    let offset = 100;
    let results = ttk_core::run(3, |cx: Cx, id| async move { cx.id() + id + offset });
    assert_eq!(results, [100, 102, 104]);
    assert!(ttk_core::run(0, stepper_factory()).is_empty());
}

fn stepper_factory() -> impl FnMut(Cx, usize) -> std::future::Ready<()> {
    |_cx, _id| std::future::ready(())
}

#[test]
fn runs_can_follow_each_other_on_one_thread() {
    for _ in 0..3 {
        assert_eq!(ttk_core::run(2, |_cx: Cx, id| async move { id }), [0, 1]);
    }
}

/// Records when it is dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[bot(crate = ttk_core)]
fn holds_unused(_cx: Cx, _id: usize, _guard: DropFlag, dropped: Rc<Cell<bool>>) -> bool {
    ttk_core::yield_!();
    dropped.get()
}

#[bot(crate = ttk_core)]
fn holds_wildcard(_: Cx, _: usize, (_, _): (u8, u8), _: DropFlag, dropped: Rc<Cell<bool>>) -> bool {
    ttk_core::yield_!();
    dropped.get()
}

#[test]
fn unused_arguments_live_as_long_as_the_bot_as_in_an_async_fn() {
    let dropped = Rc::new(Cell::new(false));
    let seen = ttk_core::run(1, |cx, id| {
        holds_unused(cx, id, DropFlag(dropped.clone()), dropped.clone())
    });
    assert_eq!(seen, [false], "the argument was dropped while the bot ran");
    assert!(dropped.get());
    let dropped = Rc::new(Cell::new(false));
    let seen = ttk_core::run(1, |cx, id| {
        holds_wildcard(cx, id, (1, 2), DropFlag(dropped.clone()), dropped.clone())
    });
    assert_eq!(seen, [false]);
}

/// Counts something; its field shares a name with an argument below.
#[derive(Default)]
struct Stats {
    _guard: u32,
}

#[bot(crate = ttk_core)]
fn named_like_a_field(_cx: Cx, _id: usize, _guard: DropFlag, dropped: Rc<Cell<bool>>) -> bool {
    let stats = Stats::default();
    ttk_core::yield_!();
    // `stats._guard` is a field, not the argument: the argument is still unused.
    dropped.get() || stats._guard > 0
}

#[test]
fn an_unused_argument_named_like_a_field_still_lives_as_long_as_the_bot() {
    let dropped = Rc::new(Cell::new(false));
    let seen = ttk_core::run(1, |cx, id| {
        named_like_a_field(cx, id, DropFlag(dropped.clone()), dropped.clone())
    });
    assert_eq!(seen, [false]);
}
