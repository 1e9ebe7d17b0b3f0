//! The loop's modules keep one direction: group meetings live in `groups.rs`, and `barrier.rs`
//! (a barrier of any parties) knows nothing of groups but the small trait they implement.

const BARRIER: &str = include_str!("../src/barrier.rs");

#[test]
fn barriers_do_not_import_groups() {
    for (number, line) in BARRIER.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        assert!(
            !code.contains("groups::") && !code.contains("use crate::groups"),
            "barrier.rs:{}: {line}",
            number + 1
        );
    }
}
