//! A bot that panics never takes down the run.

use std::panic;

use ttk_core::{BotErrorKind, Cx};
use ttk_macros::bot;

const BOTS: usize = 1000;
const CULPRIT: usize = 500;

#[bot(crate = ttk_core)]
fn worker(_cx: Cx, id: usize) -> usize {
    for round in 0..3 {
        if id == CULPRIT && round == 1 {
            panic!("bot {id} lost its connection");
        }
        ttk_core::yield_!();
    }
    id
}

#[test]
fn the_other_999_bots_finish_and_try_run_reports_the_panic_with_its_bot_id() {
    let outcomes = ttk_core::try_run(BOTS, worker);
    let finished = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(finished, BOTS - 1);
    for (id, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(value) => assert_eq!(*value, id),
            Err(error) => {
                assert_eq!(error.bot(), CULPRIT);
                assert_eq!(
                    error.kind(),
                    &BotErrorKind::Panicked("bot 500 lost its connection".to_owned())
                );
            }
        }
    }
}

#[test]
fn run_finishes_the_others_then_resumes_the_panic_with_the_bot_id() {
    let finished = std::cell::Cell::new(0);
    let payload = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        ttk_core::run(BOTS, |cx, id| {
            let bot = worker(cx, id);
            let finished = &finished;
            async move {
                let value = bot.await;
                finished.set(finished.get() + 1);
                value
            }
        })
    }))
    .unwrap_err();
    assert_eq!(finished.get(), BOTS - 1);
    let message = payload.downcast_ref::<String>().expect("a String payload");
    assert_eq!(message, "bot 500 panicked: bot 500 lost its connection");
}

/// A hand-written bot that panics when polled and again when dropped afterwards.
struct PanicsOnPollAndDrop;

impl std::future::Future for PanicsOnPollAndDrop {
    type Output = usize;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<usize> {
        panic!("first");
    }
}

impl Drop for PanicsOnPollAndDrop {
    fn drop(&mut self) {
        panic!("drop went wrong");
    }
}

#[test]
fn a_panic_while_dropping_a_failed_bot_is_contained() {
    let outcomes = ttk_core::try_run(2, |_cx: Cx, id| {
        let bot: std::pin::Pin<Box<dyn std::future::Future<Output = usize>>> = if id == 0 {
            Box::pin(PanicsOnPollAndDrop)
        } else {
            Box::pin(std::future::ready(id))
        };
        bot
    });
    assert!(
        outcomes[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("first")
    );
    assert_eq!(outcomes[1].as_ref().ok(), Some(&1));
}
