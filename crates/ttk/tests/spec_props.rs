//! Property tests of the load test's command-line specs — ramp-ups (`10:30s,100:1m`), rates
//! (`10/s:30s,100/s`), durations, shards (`2/4`), start times (`@1795687200`) — and of the whole
//! command line as `LoadTest::try_from_args` reads it: any text is taken or refused with a
//! message, never a panic, and what is taken schedules bots and sessions without a panic
//! either, however long or fast; well-formed specs mean what they say.

// The property-test settings, shared with ttk-report's tests.
#[path = "../../ttk-report/tests/props/mod.rs"]
mod props;

use std::time::Duration;

use proptest::prelude::*;
use ttk::cli::{LoadTest, RampUp, Rate, ShardSpec, StartAt};

/// The pieces specs are made of, and edge values of each.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "10",
    "100",
    "1.5",
    ".5",
    "-1",
    "1e3",
    "1e308",
    "inf",
    "NaN",
    "18446744073709551615",
    "18446744073709551616",
    "584942417355",
    "4294967295",
    "s",
    "ms",
    "us",
    "ns",
    "m",
    "min",
    "h",
    "d",
    "w",
    "y",
    "M",
    "/s",
    "/m",
    "/h",
    "/x",
    ":",
    ",",
    "/",
    "@",
    " ",
    "T",
    "Z",
    "-",
    "2026-11-26T10:00:00Z",
    "9999-12-31T23:59:59Z",
    "\u{e9}",
];

/// Text made of spec pieces: mostly near-misses of real specs.
fn spec_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOKENS), 0..10).prop_map(|parts| parts.concat()),
        "\\PC{0,20}",
    ]
}

/// A duration as a user writes one, and its length (`None` if humantime refuses it): a whole
/// number of a unit, up to the largest a `Duration` holds and past it.
fn duration_text() -> impl Strategy<Value = (String, Option<Duration>)> {
    prop_oneof![
        (
            0u64..100_000,
            prop::sample::select(vec![("s", 1u64), ("m", 60), ("h", 3600)])
        )
            .prop_map(|(n, (unit, seconds))| (
                format!("{n}{unit}"),
                Some(Duration::from_secs(n * seconds))
            )),
        (0u64..1_000_000).prop_map(|n| (format!("{n}ms"), Some(Duration::from_millis(n)))),
        // Past any run, up to the longest a `Duration` holds and past it (`None`: refused).
        prop::sample::select(vec![
            ("584942417355y", None),
            ("18446744073709551615s", Some(Duration::from_secs(u64::MAX))),
            (
                "100000000000d",
                Some(Duration::from_secs(8_640_000_000_000_000))
            ),
        ])
        .prop_map(|(text, length)| (text.to_owned(), length)),
    ]
}

/// Schedules bot or session `n` of a ramp-up or rate taken: the numbers a run asks for, and
/// the extremes.
fn schedule(ramp: Option<&RampUp>, rate: Option<&Rate>, n: u64) {
    for n in [0, 1, n, u64::from(u32::MAX), u64::MAX] {
        if let Some(ramp) = ramp {
            let bots = ramp.bots(100);
            let _ = ramp.start_offset(n as usize, bots);
            let _ = ramp.start_offset(n as usize, usize::MAX);
        }
        if let Some(rate) = rate {
            let _ = rate.total_duration();
            let _ = rate.arrival_offset(n);
        }
    }
}

proptest! {
    #![proptest_config(props::cases(3_000))]

    #[test]
    fn any_spec_text_is_taken_or_refused(text in spec_text(), n in 0u64..1_000_000) {
        let ramp = text.parse::<RampUp>();
        let rate = text.parse::<Rate>();
        let _ = text.parse::<ShardSpec>();
        let _ = text.parse::<StartAt>();
        if let Ok(ramp) = &ramp {
            prop_assert_eq!(ramp.as_str(), text.as_str());
        }
        if let Ok(rate) = &rate {
            prop_assert_eq!(rate.as_str(), text.as_str());
        }
        schedule(ramp.as_ref().ok(), rate.as_ref().ok(), n);
    }

    #[test]
    fn any_command_line_is_taken_or_refused(
        flags in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "--bots", "--ramp-up", "--rate", "--duration", "--iterations", "--seed",
                    "--shard", "--start-at", "--threshold", "--run-id", "--think",
                ]),
                spec_text(),
            ),
            0..4,
        ),
    ) {
        let mut args = vec!["shop".to_owned()];
        for (flag, value) in flags {
            args.push(flag.to_owned());
            args.push(value);
        }
        let _ = LoadTest::try_from_args("shop", args);
    }

    #[test]
    fn a_staged_ramp_up_starts_its_bots_in_order_within_its_length(
        stages in prop::collection::vec((1usize..1_000, duration_text()), 1..5),
        n in 0usize..5_000,
    ) {
        // Counts that do not fall: each stage adds to the one before.
        let mut bots = 0;
        let mut text = Vec::new();
        let mut total = Some(Duration::ZERO);
        for (more, (duration, length)) in &stages {
            bots += more;
            text.push(format!("{bots}:{duration}"));
            total = total.zip(*length).and_then(|(total, length)| total.checked_add(length));
        }
        let text = text.join(",");
        let Ok(ramp) = text.parse::<RampUp>() else {
            // Only a ramp longer than any run may be refused.
            prop_assert!(total.is_none(), "{text} refused");
            return Ok(());
        };
        prop_assert_eq!(ramp.bots(1), bots);
        let (earlier, later) = (ramp.start_offset(n, bots), ramp.start_offset(n + 1, bots));
        prop_assert!(earlier <= later, "{text}: bot {n} at {earlier:?}, the next at {later:?}");
        if let Some(total) = total {
            prop_assert!(later <= total, "{text}: {later:?} after {total:?}");
        }
    }

    #[test]
    fn a_staged_rate_starts_sessions_in_order_within_its_length(
        stages in prop::collection::vec((1u32..10_000, prop::sample::select(vec!["s", "m", "h"]), duration_text()), 1..4),
        open_ended in any::<bool>(),
        n in 0u64..100_000,
    ) {
        let mut text: Vec<String> = stages
            .iter()
            .map(|(count, unit, (duration, _))| format!("{count}/{unit}:{duration}"))
            .collect();
        if open_ended {
            text.push("5/s".to_owned());
        }
        let text = text.join(",");
        let total = stages.iter().try_fold(Duration::ZERO, |total, (_, _, (_, length))| {
            total.checked_add((*length)?)
        });
        let Ok(rate) = text.parse::<Rate>() else {
            prop_assert!(total.is_none(), "{text} refused");
            return Ok(());
        };
        if !open_ended {
            prop_assert_eq!(rate.total_duration(), total);
        }
        if let (Some(earlier), Some(later)) = (rate.arrival_offset(n), rate.arrival_offset(n + 1)) {
            prop_assert!(earlier <= later, "{text}: session {n} at {earlier:?}, the next at {later:?}");
        }
    }
}

/// Found by `a_staged_ramp_up_starts_its_bots_in_order_within_its_length`: stages adding up
/// past what a `Duration` holds made `start_offset` panic (overflow when adding durations).
#[test]
fn a_ramp_up_longer_than_a_duration_holds_is_refused() {
    let error = "1:18446744073709551615s,2:1s"
        .parse::<RampUp>()
        .unwrap_err();
    assert!(
        error.contains("its stages add up to more than a duration holds"),
        "{error}"
    );
}

/// Found by `a_staged_rate_starts_sessions_in_order_within_its_length`: the same for a rate
/// (`total_duration` panicked: overflow in iter::sum over durations).
#[test]
fn a_rate_longer_than_a_duration_holds_is_refused() {
    let error = "1/s:18446744073709551615s,1/s:1s"
        .parse::<Rate>()
        .unwrap_err();
    assert!(
        error.contains("its stages add up to more than a duration holds"),
        "{error}"
    );
}

/// Found by `any_spec_text_is_taken_or_refused`: `--start-at @1e300` panicked converting the
/// seconds to a `Duration`; a time past what the clock holds panicked adding it to the epoch.
#[test]
fn a_start_time_past_what_the_clock_holds_is_refused() {
    for text in ["@1e300", "@18446744073709551615"] {
        let error = text.parse::<StartAt>().unwrap_err();
        assert!(
            error.contains("after @ comes seconds since the Unix epoch"),
            "{error}"
        );
    }
}

/// Found by `any_spec_text_is_taken_or_refused`: scheduling at the edges of what a spec holds
/// panicked converting the arrival's float seconds to a `Duration`; such an arrival never comes,
/// and the bot last started by the longest ramp starts at its end.
#[test]
fn arrivals_and_starts_past_what_a_duration_holds_do_not_panic() {
    let rate: Rate = "1/h".parse().unwrap();
    assert_eq!(rate.arrival_offset(u64::MAX), None);
    let longest: RampUp = "18446744073709551615s".parse().unwrap();
    let last = longest.start_offset(usize::MAX - 1, usize::MAX);
    assert_eq!(last, Duration::from_secs(u64::MAX));
}
