//! Think times: each distribution has its mean and bounds, the same seed gives the same
//! pauses, and `cx.think` sleeps the pause it draws.

use std::time::Duration;

use ttk_core::{Cx, Runtime, ThinkTime};
use ttk_macros::bot;

/// Samples drawn for the statistics.
const SAMPLES: usize = 100_000;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// `count` samples of `think`, drawn by one bot of a run seeded `seed`.
#[bot(crate = ttk_core)]
fn draw(cx: Cx, _id: usize, think: ThinkTime, count: usize) -> Vec<Duration> {
    (0..count).map(|_| think.sample(&cx.rng())).collect()
}

fn samples(think: ThinkTime, seed: u64) -> Vec<Duration> {
    Runtime::new()
        .seed(seed)
        .run(1, |cx, id| draw(cx, id, think, SAMPLES))
        .remove(0)
}

fn mean(samples: &[Duration]) -> f64 {
    samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64
}

/// `actual` is within `tolerance` (a fraction) of `expected`.
fn assert_near(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= expected * tolerance,
        "{what}: {actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn a_constant_think_time_is_constant() {
    let think = ThinkTime::constant(ms(250));
    assert!(samples(think, 0).iter().all(|pause| *pause == ms(250)));
    assert_eq!(think.mean(), ms(250));
}

#[test]
fn uniform_think_times_stay_in_bounds_and_spread_evenly() {
    let think = ThinkTime::uniform(ms(100), ms(500));
    let drawn = samples(think, 1);
    assert!(
        drawn
            .iter()
            .all(|pause| (ms(100)..=ms(500)).contains(pause))
    );
    assert_eq!(think.mean(), ms(300));
    assert_near(mean(&drawn), 0.3, 0.01, "mean");
    // Each fifth of the range holds a fifth of the samples.
    let mut fifths = [0usize; 5];
    for pause in &drawn {
        let fifth = ((pause.as_secs_f64() - 0.1) / 0.08) as usize;
        fifths[fifth.min(4)] += 1;
    }
    for (fifth, count) in fifths.iter().enumerate() {
        assert_near(
            *count as f64,
            SAMPLES as f64 / 5.0,
            0.03,
            &format!("fifth {fifth}"),
        );
    }
    // A range of one value is that value.
    assert!(
        samples(ThinkTime::uniform(ms(7), ms(7)), 1)
            .iter()
            .all(|pause| *pause == ms(7))
    );
}

#[test]
#[should_panic(expected = "max is shorter than min")]
fn a_uniform_think_time_with_max_below_min_is_refused() {
    let _ = ThinkTime::uniform(ms(500), ms(100));
}

#[test]
fn exponential_think_times_have_their_mean_shape_and_cap() {
    let think = ThinkTime::exponential(ms(200));
    let drawn = samples(think, 2);
    let cap = ms(200) * ThinkTime::EXPONENTIAL_CAP;
    assert!(drawn.iter().all(|pause| *pause <= cap));
    assert_near(mean(&drawn), 0.2, 0.02, "mean");
    assert_near(think.mean().as_secs_f64(), 0.2, 0.0001, "nominal mean");
    assert!(think.mean() < ms(200), "the cap takes a hair off the mean");
    // Memoryless shape: P(X > t) = e^(-t/mean).
    for (means, expected) in [
        (0.5, (-0.5f64).exp()),
        (1.0, (-1.0f64).exp()),
        (3.0, (-3.0f64).exp()),
    ] {
        let above = drawn
            .iter()
            .filter(|pause| pause.as_secs_f64() > 0.2 * means)
            .count() as f64
            / SAMPLES as f64;
        assert_near(above, expected, 0.05, &format!("P(X > {means} means)"));
    }
}

#[test]
fn the_same_seed_gives_the_same_think_times_and_another_seed_others() {
    for think in [
        ThinkTime::uniform(ms(100), ms(500)),
        ThinkTime::exponential(ms(200)),
    ] {
        let first = Runtime::new()
            .seed(9)
            .run(3, |cx, id| draw(cx, id, think, 50));
        let again = Runtime::new()
            .seed(9)
            .run(3, |cx, id| draw(cx, id, think, 50));
        let other = Runtime::new()
            .seed(10)
            .run(3, |cx, id| draw(cx, id, think, 50));
        assert_eq!(first, again, "{think:?}");
        assert_ne!(first, other, "{think:?}");
        assert_ne!(first[0], first[1], "bots share a stream: {think:?}");
    }
}

/// Thinks `times` times and returns how long each pause took on the loop's clock.
#[bot(crate = ttk_core)]
fn thinker(cx: Cx, _id: usize, think: ThinkTime, times: usize) -> Vec<Duration> {
    let mut pauses = Vec::new();
    for _ in 0..times {
        let start = ttk_core::now();
        ttk_core::yield_!(cx.think(think));
        pauses.push(ttk_core::now() - start);
    }
    pauses
}

#[test]
fn cx_think_sleeps_the_pause_it_draws_from_the_bot_stream() {
    let think = ThinkTime::exponential(Duration::from_secs(30));
    let slept = Runtime::new()
        .virtual_time(true)
        .seed(4)
        .run(4, |cx, id| thinker(cx, id, think, 20));
    // The same draws, without sleeping.
    let drawn = Runtime::new()
        .seed(4)
        .run(4, |cx, id| draw(cx, id, think, 20));
    assert_eq!(slept, drawn);
}
