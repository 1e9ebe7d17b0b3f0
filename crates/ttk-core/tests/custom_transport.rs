//! `examples/custom_transport` drives a Unix socket pair through ttk-core alone.

use std::process::Command;

#[test]
fn custom_transport_plays_three_rounds_of_ping_pong() {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    let output = Command::new(profile_dir.join("examples").join("custom_transport"))
        .output()
        .expect("the example was built by cargo test");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected: String = (0..3)
        .map(|round| {
            format!(
                "process 1: sent \"ping {round}\"\nprocess 0: answered \"pong {round}\"\n\
                 process 1: received \"pong {round}\"\n"
            )
        })
        .collect();
    assert_eq!(stdout, expected);
}
