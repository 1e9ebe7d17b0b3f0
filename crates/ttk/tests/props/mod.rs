//! What the property tests of this crate share: how many cases they run.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use proptest::test_runner::Config;

/// The cases of a property: `default` (a few thousand, for CI), unless `PROPTEST_CASES` says
/// otherwise (`cargo xtask fuzz` runs millions).
pub(crate) fn cases(default: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    // A failure prints its minimal case; it is kept as a named regression test beside the
    // property, not in a file of seeds nobody reads.
    config.failure_persistence = None;
    config
}
