//! The seed's examples print exactly what the seed's README shows.

mod util;

use util::run_example;

#[test]
fn sequential_prints_the_seeds_first_output() {
    assert_eq!(
        run_example("sequential", &[]),
        "process 0: 1\nprocess 0: 2\nprocess 1: 1\nprocess 1: 2\n"
    );
}

#[test]
fn interleaved_prints_the_seeds_second_output() {
    assert_eq!(
        run_example("interleaved", &[]),
        "process 0: 1\nprocess 1: 1\nprocess 0: 2\nprocess 1: 2\n"
    );
}

#[test]
fn lifecycle_prints_do_something_interleaved_by_tick() {
    assert_eq!(
        run_example("lifecycle", &[]),
        "process 0: started\nprocess 1: started\nprocess 0: working\n\
         process 1: working\nprocess 0: terminated\nprocess 1: terminated\n"
    );
}

#[test]
fn groups_prints_the_original_groups_example() {
    assert_eq!(
        run_example("groups", &[]),
        "process 0: sent \"Hello\" to process 1\nprocess 2: sent \"Hello\" to process 3\n\
         process 1: received \"Hello\" from process 0\nprocess 3: received \"Hello\" from process 2\n"
    );
}
