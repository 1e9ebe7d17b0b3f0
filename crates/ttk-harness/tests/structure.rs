//! The harness's modules form no circle: `run` starts runs through `launch` and `processes`,
//! which share `plan` and `seconds_shown` and never import `run` or each other.

/// Whether `source` names its sibling `module` (`super::module` or `crate::module`).
fn names(source: &str, module: &str) -> bool {
    source.lines().any(|line| {
        let code = line.split("//").next().unwrap_or_default();
        code.contains(&format!("super::{module}")) || code.contains(&format!("crate::{module}"))
    })
}

#[test]
fn launch_and_processes_do_not_import_run_or_each_other() {
    let launch = include_str!("../src/launch.rs");
    let processes = include_str!("../src/processes.rs");
    for (file, source, others) in [
        ("launch.rs", launch, ["run", "processes"]),
        ("processes.rs", processes, ["run", "launch"]),
    ] {
        for other in others {
            assert!(!names(source, other), "{file} imports {other}");
        }
    }
    // The check itself sees an import.
    assert!(names("use super::plan::Plan;", "plan"));
}
