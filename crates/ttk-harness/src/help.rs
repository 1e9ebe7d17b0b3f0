//! The command line's help, written for the person who runs the load test.
//!
//! clap's derive puts a struct's doc comment in the help of the command its flags join; the
//! flag structs' doc comments ([`LoadArgs`], [`MergeArgs`], [`NoFlags`](super::NoFlags), and the
//! test's own) are written for the programmer, examples included. So the texts above and
//! below the flags are set here, after every set of flags has joined the command.

use clap::{Args, Command};

use super::{LoadArgs, MergeArgs};

/// The command of a load test named `name`, with its own flags `A`, and its `merge` command.
pub(crate) fn command<A: Args>(name: &str) -> Command {
    // The test's own flags get a heading of their own.
    let command = LoadArgs::augment_args(Command::new(name.to_owned()))
        .next_help_heading(format!("{name}'s own"));
    A::augment_args(command)
        .about(format!("{name}: a load test made with ttk"))
        .long_about(format!(
            "{name}: a load test made with ttk.\n\n\
             Runs bots against the target (--bots for a fixed set, --rate for sessions arriving \
             on a schedule), shows the live progress, prints a summary at the end and writes \
             the reports asked for (--json, --html). A run cut in shards (--shard I/N) is put \
             back together with `{name} merge`."
        ))
        .subcommand(merge_command(name))
        .args_conflicts_with_subcommands(true)
        .after_help(
            "Exit codes: 0 passed, 1 a threshold failed (without --threshold: every bot failed, \
             or no transaction succeeded), 2 bad command line, 3 the run failed, \
             130 interrupted.",
        )
}

/// `merge`: the shards' reports in, the whole run's out.
fn merge_command(name: &str) -> Command {
    MergeArgs::augment_args(Command::new("merge"))
        .about(format!(
            "Merge the JSON reports of {name}'s shards into one report of the whole run"
        ))
        .long_about(format!(
            "Merge the JSON reports of {name}'s shards (each run with --shard I/N and --json) \
             into one report of the whole run: prints its summary, writes it where --json and \
             --html say, and checks the --threshold given here."
        ))
        .after_help(
            "Exit codes: 0 every shard merged and the thresholds held, 1 a threshold \
             failed, 2 the reports are not of one run, or one is not a report this ttk \
             reads (another schema, a field out of bounds, not JSON), 3 a shard is missing \
             (the merge of the others is still written).",
        )
}
