//! User-space instructions per request, under `valgrind --tool=callgrind`: instructions
//! executed on valgrind's simulated CPU, which a busy neighbour does not move.
//!
//! A client under callgrind runs some 50x slower, so the count is over the requests it
//! completed, read from its own output, not over time. Its total includes start-up (1,000
//! connects, wrk's LuaJIT, ttk's report) and the end of the run: each client runs twice, for
//! [`SECONDS`], and the instructions per request are the slope between the two runs —
//! (instructions of the longer − of the shorter) / (requests of the longer − of the shorter) —
//! which leaves out whatever both runs did once. What is left out is reported too (the
//! intercept). The cost of a request is not quite the same in both runs (each runs at the
//! rate valgrind and the machine allow, which changes the events each wakeup finds), so the
//! slope moves by a few percent from one bench to the next (4,504 to 4,727 for wrk here); an
//! intercept below zero is that noise showing. The profiles stay under `target/ttk-bench/peers-callgrind/` for
//! `callgrind_annotate`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use super::client::Kind;

/// Seconds of the shorter and of the longer run under callgrind. The shorter must outlast
/// start-up, or the longer run's start-up is counted as requests: under callgrind ttk takes
/// one to two seconds to connect 1,000 bots here (about 40,000 instructions each, at a
/// fiftieth of the speed, on a core shared with builds; once only 17 had connected after
/// 2.3 s). The longer runs 4 s more: on a busy machine a 4 s run once completed fewer requests
/// than the 2 s run before it.
pub(crate) const SECONDS: [u64; 2] = [3, 7];

/// How long a run under callgrind may take past its duration before it is killed (valgrind's
/// start, the client's report written at a fiftieth of its speed), well under the minute a
/// timed run is given.
const OVERTIME_S: u64 = 30;

/// Whether `kind` is run under callgrind: ttk and wrk. hey is Go, whose runtime valgrind
/// does not support; oha is left out to keep the bench short.
pub(crate) fn counted(kind: Kind) -> bool {
    matches!(kind, Kind::Ttk | Kind::Wrk)
}

/// Whether valgrind runs here; why not if not.
pub(crate) fn available() -> Result<(), String> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!("valgrind --version failed: {}", output.status)),
        Err(error) => Err(format!("no valgrind: {error}")),
    }
}

/// The command line before the client's, for a run of `seconds`: callgrind with threads
/// scheduled fairly, its profile to `out` and its messages to `log` (apart from the client's
/// own output), killed by `timeout` if it runs [`OVERTIME_S`] past its duration.
pub(crate) fn tool(seconds: u64, out: &Path, log: &Path) -> Vec<OsString> {
    let mut callgrind = OsString::from("--callgrind-out-file=");
    callgrind.push(out);
    let mut log_file = OsString::from("--log-file=");
    log_file.push(log);
    vec![
        "timeout".into(),
        "--signal=KILL".into(),
        (seconds + OVERTIME_S).to_string().into(),
        "valgrind".into(),
        "--tool=callgrind".into(),
        // Valgrind runs one thread at a time; by default a busy thread may take the lock back
        // before a waiting one gets it, and wrk (whose main thread sleeps, then stops the
        // worker) and ttk each hung once here until killed. The fair lock hands it round.
        "--fair-sched=yes".into(),
        "--dump-instr=no".into(),
        callgrind,
        log_file,
    ]
}

/// The instructions callgrind counted (`Ir`) in its log: the `Collected :` line's value in the
/// column the `Events :` line names `Ir` (with `--cache-sim=yes` it is one of nine).
pub(crate) fn collected(log: &str) -> Result<u64, String> {
    // Lines start with `==PID== `.
    let field = |name: &str| {
        log.lines().find_map(|line| {
            let (label, values) = line.split_once(':')?;
            let label = label.split("==").last()?.trim();
            (label == name).then(|| values.split_whitespace().collect::<Vec<_>>())
        })
    };
    let events = field("Events").ok_or("callgrind's log has no `Events :` line")?;
    let values = field("Collected").ok_or("callgrind's log has no `Collected :` line")?;
    let column = events
        .iter()
        .position(|&event| event == "Ir")
        .ok_or_else(|| format!("callgrind counted no Ir, only {events:?}"))?;
    let value = values
        .get(column)
        .ok_or_else(|| format!("callgrind's `Collected :` has no column {column}"))?;
    value
        .parse()
        .map_err(|_| format!("callgrind's Ir is not a number: {value:?}"))
}

/// One run under callgrind: the requests the client counted, the instructions it executed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point {
    /// Seconds the client was asked to run.
    pub(crate) seconds: u64,
    /// Its own count of successful responses.
    pub(crate) requests: u64,
    /// Instructions (`Ir`), start-up and exit included.
    pub(crate) instructions: u64,
}

/// Instructions per request from a shorter and a longer run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Slope {
    /// The two runs.
    pub(crate) runs: [Point; 2],
    /// Instructions per request, start-up and exit left out.
    pub(crate) per_request: f64,
    /// Instructions of start-up and exit: the longer run's count less its requests' share.
    pub(crate) fixed: f64,
}

impl Slope {
    /// The slope between `short` and `long`; an error if the longer run did not complete more
    /// requests and execute more instructions (no slope to take).
    pub(crate) fn between(short: Point, long: Point) -> Result<Slope, String> {
        if long.requests <= short.requests || long.instructions <= short.instructions {
            return Err(format!(
                "the {} s run under callgrind ({} requests, {} instructions) did not exceed \
                 the {} s run ({} requests, {} instructions)",
                long.seconds,
                long.requests,
                long.instructions,
                short.seconds,
                short.requests,
                short.instructions
            ));
        }
        let per_request = (long.instructions - short.instructions) as f64
            / (long.requests - short.requests) as f64;
        Ok(Slope {
            runs: [short, long],
            per_request,
            fixed: long.instructions as f64 - per_request * long.requests as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real logs of `valgrind --tool=callgrind --dump-instr=no --log-file=…` around `wrk -t1
    // -c100 -d1s --latency URL` against this task's nginx, and around `/bin/true` with
    // `--cache-sim=yes`, whose `Collected :` has nine columns.

    #[test]
    fn reads_the_instructions_callgrind_collected() {
        let log = include_str!("samples/callgrind-wrk-100-1s.log");
        assert_eq!(collected(log), Ok(23_994_504));
    }

    #[test]
    fn reads_the_ir_column_among_the_cache_events() {
        let log = include_str!("samples/callgrind-cache-sim.log");
        assert_eq!(collected(log), Ok(126_389));
    }

    #[test]
    fn a_log_without_the_count_is_refused() {
        let log = include_str!("samples/callgrind-wrk-100-1s.log");
        let cut: String = log
            .lines()
            .filter(|line| !line.contains("Collected"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(collected(&cut).is_err());
        let no_ir = log.replace("Events    : Ir", "Events    : Dr");
        assert!(collected(&no_ir).is_err());
    }

    #[test]
    fn the_slope_leaves_out_what_both_runs_did_once() {
        let point = |seconds, requests, instructions| Point {
            seconds,
            requests,
            instructions,
        };
        // 5,000,000 instructions of start-up, then 4,000 per request.
        let short = point(1, 1_000, 9_000_000);
        let long = point(3, 4_000, 21_000_000);
        let slope = Slope::between(short, long).unwrap();
        assert_eq!(slope.per_request, 4_000.0);
        assert_eq!(slope.fixed, 5_000_000.0);
        assert!(Slope::between(long, short).is_err());
        assert!(Slope::between(short, point(3, 4_000, 9_000_000)).is_err());
    }
}
