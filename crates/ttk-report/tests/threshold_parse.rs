//! Property tests of `Threshold::parse` (what `--threshold` hands it, from a command line or a
//! CI file) and of checking what it took: any text is taken or refused with a message that
//! quotes it, never a panic, however long its numbers; well-formed expressions are taken, and
//! mean what they say.

mod props;
mod util;

use proptest::prelude::*;
use ttk_report::Threshold;

/// The pieces expressions are made of, near-misses and edge values among them.
const TOKENS: &[&str] = &[
    "p",
    "p99",
    "p99.9",
    "p0",
    "p100",
    "p101",
    "p.",
    "p(",
    "(",
    ")",
    ",",
    " ",
    "mean",
    "max",
    "failures",
    "rate",
    "count",
    "counter",
    "login",
    "browse",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "=",
    "=<",
    "0",
    "1",
    "50",
    "1.5",
    ".5",
    "-1",
    "1e308",
    "inf",
    "NaN",
    "%",
    "/s",
    "us",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "\u{e9}",
    "\u{3bc}s",
    "99999999999999999999999999999999999999999",
];

fn expression_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOKENS), 0..10).prop_map(|parts| parts.concat()),
        "\\PC{0,30}",
        (1usize..400).prop_map(|n| format!("p99 < {}ms", "9".repeat(n))),
    ]
}

/// A comparison, as written and as a function.
fn comparison() -> impl Strategy<Value = (&'static str, fn(u64, u64) -> bool)> {
    prop::sample::select(vec![
        ("<", (|a, b| a < b) as fn(u64, u64) -> bool),
        ("<=", |a, b| a <= b),
        (">", |a, b| a > b),
        (">=", |a, b| a >= b),
        ("==", |a, b| a == b),
    ])
}

proptest! {
    #![proptest_config(props::cases(3_000))]

    #[test]
    fn any_text_is_taken_or_refused_with_a_message(text in expression_text()) {
        match Threshold::parse(&text) {
            Ok(threshold) => {
                prop_assert_eq!(threshold.expression(), text.trim());
                let result = threshold.check(&util::known_report());
                prop_assert_eq!(result.expression, text.trim());
            }
            Err(error) => {
                let message = error.to_string();
                let quoted = format!("threshold `{}`: ", text.trim());
                prop_assert!(message.starts_with(&quoted), "{}", message);
            }
        }
    }

    #[test]
    fn a_count_threshold_means_what_it_says(
        (op, holds) in comparison(),
        limit in prop_oneof![0u64..2_000, Just(1_000), any::<u64>()],
        spaces in prop::sample::select(vec!["", " ", "  "]),
    ) {
        // `login` of the known report has 1000 successes.
        let text = format!("count(login){spaces}{op}{spaces}{limit}");
        let threshold = Threshold::parse(&text).unwrap();
        prop_assert_eq!(threshold.check(&util::known_report()).passed, holds(1_000, limit));
    }

    #[test]
    fn a_latency_threshold_means_what_it_says(
        (op, holds) in comparison(),
        metric in prop::sample::select(vec!["max(login)", "p100(login)", "p(100, login)"]),
        micros in prop_oneof![0u64..3_000, Just(1_000)],
        unit in prop::sample::select(vec![("us", 1u64), ("ms", 1_000)]),
    ) {
        // The slowest `login` of the known report took 1000 µs, kept exactly.
        let (unit, per) = unit;
        let limit = micros / per;
        let text = format!("{metric} {op} {limit}{unit}");
        let threshold = Threshold::parse(&text).unwrap();
        prop_assert_eq!(threshold.check(&util::known_report()).passed, holds(1_000, limit * per));
    }
}

/// Found by `any_text_is_taken_or_refused_with_a_message`: a limit near `u64::MAX` µs
/// (`p99 < 99999999999999999ms`) overflowed the rounding of `format_duration_us` when the
/// threshold was checked and its limit written.
#[test]
fn a_limit_near_the_largest_duration_is_written_without_overflow() {
    let threshold = Threshold::parse("p99 < 99999999999999999ms").unwrap();
    let result = threshold.check(&util::known_report());
    assert!(result.passed);
    assert_eq!(result.limit, "5124095576h01m");
    assert_eq!(ttk_report::format_duration_us(u64::MAX), "5124095576h01m");
}
