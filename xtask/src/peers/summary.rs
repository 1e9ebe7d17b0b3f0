//! The rounds' figures brought together: medians and ranges per client and connection count,
//! ttk's ratios to wrk against the targets, as a table for people and JSON for machines.

use std::fmt::Write as _;

use super::client::{Kind, Run};
use super::counts::Counted;
use crate::report::{self, Figure, Goal};

/// What ttk's ratios to wrk must meet, and how the figures are named.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Targets {
    /// Put before `N conns` in the figures' names: `""` for plain HTTP, `"https "`.
    pub(crate) label: &'static str,
    /// ttk's CPU per request over wrk's.
    pub(crate) cpu: Goal,
    /// ttk's requests/s over wrk's.
    pub(crate) rate: Goal,
}

/// Plain HTTP: ttk's CPU per request at most 0.9x wrk's, its requests/s at least 0.95x (nginx
/// is the bottleneck, so both should get what it gives; 5% allows for the noise of a shared
/// machine).
pub(crate) const PLAIN: Targets = Targets {
    label: "",
    cpu: Goal::AtMost(0.9),
    rate: Goal::AtLeast(0.95),
};

/// HTTPS keep-alive (issue 15): ttk's CPU per request at most wrk's; requests/s for
/// information.
pub(crate) const HTTPS: Targets = Targets {
    label: "https ",
    cpu: Goal::AtMost(1.0),
    rate: Goal::None,
};

/// One run of the bench: which round, which client, how many connections, and what came of it.
#[derive(Debug)]
pub(crate) struct Sample {
    /// The round, from 0.
    pub(crate) round: usize,
    /// Connections.
    pub(crate) connections: u64,
    /// The client.
    pub(crate) kind: Kind,
    /// Its figures, or why it failed.
    pub(crate) run: Result<Run, String>,
}

/// The median, smallest and largest of some samples.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spread {
    /// The median.
    pub(crate) median: f64,
    /// The smallest.
    pub(crate) min: f64,
    /// The largest.
    pub(crate) max: f64,
}

impl Spread {
    /// The spread of `samples`, if there are any.
    pub(crate) fn of(samples: &[f64]) -> Option<Spread> {
        if samples.is_empty() {
            return None;
        }
        Some(Spread {
            median: report::median(samples),
            min: samples.iter().copied().fold(f64::INFINITY, f64::min),
            max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// `median [min..max]`, each with `decimals` decimals.
    pub(crate) fn text(self, decimals: usize) -> String {
        format!(
            "{} [{}..{}]",
            grouped(self.median, decimals),
            grouped(self.min, decimals),
            grouped(self.max, decimals)
        )
    }

    /// As JSON.
    pub(crate) fn json(self) -> serde_json::Value {
        serde_json::json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

/// One client at one connection count, over the rounds that succeeded.
#[derive(Debug)]
pub(crate) struct Line {
    /// The client.
    pub(crate) kind: Kind,
    /// Connections.
    pub(crate) connections: u64,
    /// Successful responses per second.
    pub(crate) rate: Spread,
    /// CPU per successful response, in microseconds.
    pub(crate) cpu_us: Option<Spread>,
    /// The client's peak RSS per connection (or user), in KiB.
    pub(crate) rss_kib: Option<Spread>,
    /// The round with the median rate, whose percentiles and counts are shown.
    pub(crate) median_run: Run,
}

/// ttk over wrk at one connection count, from the rounds where both ran.
#[derive(Debug)]
pub(crate) struct Ratio {
    /// Connections.
    pub(crate) connections: u64,
    /// ttk's CPU per request over wrk's, per round.
    pub(crate) cpu: Option<Spread>,
    /// ttk's requests/s over wrk's, per round.
    pub(crate) rate: Option<Spread>,
}

/// Everything measured.
#[derive(Debug)]
pub(crate) struct Summary {
    /// Per client and connection count.
    pub(crate) lines: Vec<Line>,
    /// ttk against wrk, per connection count.
    pub(crate) ratios: Vec<Ratio>,
    /// What the ratios must meet.
    targets: Targets,
    /// Syscalls and instructions per request, shown beside the CPU time if counted.
    counts: Option<Counted>,
}

impl Summary {
    /// Brings `samples` together for `connections`, the ratios held to `targets`.
    pub(crate) fn new(samples: &[Sample], connections: &[u64], targets: Targets) -> Summary {
        let ok = |kind: Kind, n: u64| -> Vec<(usize, &Run)> {
            samples
                .iter()
                .filter(|s| s.kind == kind && s.connections == n)
                .filter_map(|s| Some((s.round, s.run.as_ref().ok()?)))
                .collect()
        };
        let mut lines = Vec::new();
        let mut ratios = Vec::new();
        for &n in connections {
            for kind in Kind::ALL {
                let runs = ok(kind, n);
                let rates: Vec<f64> = runs.iter().map(|(_, run)| run.output.rate()).collect();
                let Some(rate) = Spread::of(&rates) else {
                    continue;
                };
                let cpu: Vec<f64> = runs
                    .iter()
                    .filter_map(|(_, run)| run.cpu_us_per_request())
                    .collect();
                let rss: Vec<f64> = runs
                    .iter()
                    .filter_map(|(_, run)| run.peak_rss_kib_per(n))
                    .collect();
                let mut by_rate: Vec<&Run> = runs.iter().map(|(_, run)| *run).collect();
                by_rate.sort_by(|a, b| a.output.rate().total_cmp(&b.output.rate()));
                lines.push(Line {
                    kind,
                    connections: n,
                    rate,
                    cpu_us: Spread::of(&cpu),
                    rss_kib: Spread::of(&rss),
                    median_run: by_rate[by_rate.len() / 2].clone(),
                });
            }
            let (ttk, wrk) = (ok(Kind::Ttk, n), ok(Kind::Wrk, n));
            let mut cpu = Vec::new();
            let mut rate = Vec::new();
            for (round, ttk_run) in &ttk {
                let Some((_, wrk_run)) = wrk.iter().find(|(r, _)| r == round) else {
                    continue;
                };
                if let (Some(a), Some(b)) =
                    (ttk_run.cpu_us_per_request(), wrk_run.cpu_us_per_request())
                {
                    cpu.push(a / b);
                }
                if wrk_run.output.rate() > 0.0 {
                    rate.push(ttk_run.output.rate() / wrk_run.output.rate());
                }
            }
            ratios.push(Ratio {
                connections: n,
                cpu: Spread::of(&cpu),
                rate: Spread::of(&rate),
            });
        }
        Summary {
            lines,
            ratios,
            targets,
            counts: None,
        }
    }

    /// The same, with `counted` shown beside the CPU time.
    pub(crate) fn with_counts(self, counted: Counted) -> Summary {
        Summary {
            counts: Some(counted),
            ..self
        }
    }

    /// The table printed to the terminal; `skipped` are the clients not run, with why.
    pub(crate) fn table(&self, skipped: &[(Kind, String)], failures: &[String]) -> String {
        let mut out = String::new();
        // Syscalls and user instructions per request, beside the CPU time, if counted.
        let counted = |cells: (String, String)| match &self.counts {
            Some(_) => format!(" {:>16} {:>25}", cells.0, cells.1),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<6} {:>6}  {:<26} {:>9} {:>9}  {:<26}{} {:>21}  {:<22}",
            "client",
            "conns",
            "req/s median [min..max]",
            "p50",
            "p99",
            "CPU us/req median [range]",
            counted((
                "syscalls/request".into(),
                "user instructions/request".into()
            )),
            "served / counted",
            "peak RSS/conn KiB",
        );
        for line in &self.lines {
            let run = &line.median_run;
            let cells = self
                .counts
                .as_ref()
                .map(|c| c.cells(line.kind, line.connections));
            let _ = writeln!(
                out,
                "{:<6} {:>6}  {:<26} {:>9} {:>9}  {:<26}{} {:>21}  {:<22}",
                line.kind.name(),
                line.connections,
                line.rate.text(0),
                latency(run.output.p50_us),
                latency(run.output.p99_us),
                line.cpu_us.map_or("-".to_owned(), |cpu| cpu.text(2)),
                counted(cells.unwrap_or_default()),
                format!(
                    "{} / {}",
                    grouped(run.served as f64, 0),
                    grouped(run.output.ok as f64, 0)
                ),
                line.rss_kib.map_or("-".to_owned(), |rss| rss.text(1)),
            );
        }
        if let Some(counted) = &self.counts {
            out.push_str(&counted.footer());
        }
        for (kind, reason) in skipped {
            let _ = writeln!(out, "skipped: {} ({reason})", kind.name());
        }
        for failure in failures {
            let _ = writeln!(out, "FAILED: {failure}");
        }
        for ratio in &self.ratios {
            let _ = writeln!(
                out,
                "ttk / wrk at {} connections: CPU per request {}, requests/s {}",
                ratio.connections,
                verdict(ratio.cpu, self.targets.cpu),
                verdict(ratio.rate, self.targets.rate),
            );
        }
        out
    }

    /// The figures for `cargo xtask bench`'s summary: each client's medians for information,
    /// and ttk's ratios to wrk against their targets — skipped with `why_not` when there is no
    /// wrk to compare with, missing when ttk did not run.
    pub(crate) fn figures(&self, wrk_skipped: Option<&str>) -> Vec<Figure> {
        let mut figures = Vec::new();
        for line in &self.lines {
            let name = |what: &str| {
                format!(
                    "peers {}{} conns: {what} ({})",
                    self.targets.label,
                    line.connections,
                    line.kind.name()
                )
            };
            let rate = line.rate;
            figures.push(
                Figure::new(name("requests/s"), rate.median, "req/s", Goal::None)
                    .with_range(rate.min, rate.max),
            );
            if let Some(cpu) = line.cpu_us {
                figures.push(
                    Figure::new(name("client CPU per request"), cpu.median, "us", Goal::None)
                        .with_range(cpu.min, cpu.max),
                );
            }
            if let Some(rss) = line.rss_kib {
                figures.push(
                    Figure::new(
                        name("peak RSS per connection"),
                        rss.median,
                        "KiB",
                        Goal::None,
                    )
                    .with_range(rss.min, rss.max),
                );
            }
        }
        for ratio in &self.ratios {
            let n = ratio.connections;
            for (what, spread, goal) in [
                ("CPU per request", ratio.cpu, self.targets.cpu),
                ("requests/s", ratio.rate, self.targets.rate),
            ] {
                let name = format!("peers {}{n} conns: ttk / wrk {what}", self.targets.label);
                figures.push(match (spread, wrk_skipped) {
                    (Some(s), _) => Figure::new(name, s.median, "x", goal).with_range(s.min, s.max),
                    (None, Some(reason)) => Figure::skipped(name, reason, "x", goal),
                    // ttk (or wrk) ran in no round: a figure that should exist and does not.
                    (None, None) => Figure::new(name, f64::NAN, "x", goal),
                });
            }
        }
        figures
    }

    /// The ratios that missed their targets (or could not be computed although wrk ran).
    pub(crate) fn missed(&self, wrk_skipped: bool) -> Vec<String> {
        let mut missed = Vec::new();
        for ratio in &self.ratios {
            let checks = [
                ("CPU per request", ratio.cpu, self.targets.cpu),
                ("requests/s", ratio.rate, self.targets.rate),
            ];
            for (what, spread, goal) in checks {
                let met = match (spread, goal) {
                    (_, Goal::None) => true,
                    (Some(spread), _) => meets(spread.median, goal),
                    (None, _) => wrk_skipped,
                };
                if !met {
                    missed.push(format!(
                        "ttk / wrk {}{what} at {} connections",
                        self.targets.label, ratio.connections
                    ));
                }
            }
        }
        missed
    }

    /// Medians and ratios as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        let lines: Vec<serde_json::Value> = self
            .lines
            .iter()
            .map(|line| {
                let run = &line.median_run;
                serde_json::json!({
                    "client": line.kind.name(),
                    "connections": line.connections,
                    "requests_per_s": line.rate.json(),
                    "cpu_us_per_request": line.cpu_us.map(Spread::json),
                    "peak_rss_kib_per_connection": line.rss_kib.map(Spread::json),
                    "median_round": {
                        "p50_us": run.output.p50_us,
                        "p99_us": run.output.p99_us,
                        "ok": run.output.ok,
                        "errors": run.output.errors,
                        "served": run.served,
                    },
                })
            })
            .collect();
        let ratios: Vec<serde_json::Value> = self
            .ratios
            .iter()
            .map(|ratio| {
                let (cpu, rate) = (self.targets.cpu, self.targets.rate);
                serde_json::json!({
                    "connections": ratio.connections,
                    "cpu_per_request": ratio.cpu.map(Spread::json),
                    "cpu_per_request_target": goal_text(cpu),
                    "cpu_per_request_met": ratio.cpu.and_then(|s| met(s.median, cpu)),
                    "requests_per_s": ratio.rate.map(Spread::json),
                    "requests_per_s_target": goal_text(rate),
                    "requests_per_s_met": ratio.rate.and_then(|s| met(s.median, rate)),
                })
            })
            .collect();
        serde_json::json!({ "medians": lines, "ttk_over_wrk": ratios })
    }
}

/// One run as JSON, for the raw figures of every round.
pub(crate) fn sample_json(sample: &Sample) -> serde_json::Value {
    let mut json = serde_json::json!({
        "round": sample.round,
        "connections": sample.connections,
        "client": sample.kind.name(),
    });
    match &sample.run {
        Ok(run) => {
            json["ok"] = run.output.ok.into();
            json["errors"] = run.output.errors.into();
            json["seconds"] = run.output.seconds.into();
            json["requests_per_s"] = run.output.rate().into();
            json["p50_us"] = run.output.p50_us.into();
            json["p99_us"] = run.output.p99_us.into();
            json["cpu_s"] = run.cpu_s.into();
            json["cpu_us_per_request"] = run.cpu_us_per_request().into();
            json["served"] = run.served.into();
            json["peak_rss_kib"] = run.peak_rss_kib.into();
            json["peak_rss_kib_per_connection"] = run.peak_rss_kib_per(sample.connections).into();
        }
        Err(error) => json["error"] = error.as_str().into(),
    }
    json
}

/// Whether `value` meets `goal` (a figure with no target always does).
pub(crate) fn meets(value: f64, goal: Goal) -> bool {
    met(value, goal).unwrap_or(true)
}

/// Whether `value` meets `goal`; `None` if there is no target.
pub(crate) fn met(value: f64, goal: Goal) -> Option<bool> {
    match goal {
        Goal::AtMost(target) => Some(value <= target),
        Goal::AtLeast(target) => Some(value >= target),
        Goal::None => None,
    }
}

/// The target as text (`<= 0.9`), or `None` if there is none.
pub(crate) fn goal_text(goal: Goal) -> Option<String> {
    match goal {
        Goal::AtMost(target) => Some(format!("<= {target}")),
        Goal::AtLeast(target) => Some(format!(">= {target}")),
        Goal::None => None,
    }
}

/// A ratio with its range and whether it met its target.
pub(crate) fn verdict(spread: Option<Spread>, goal: Goal) -> String {
    let target = match goal_text(goal) {
        Some(target) => format!("target {target}"),
        None => "no target".to_owned(),
    };
    match spread {
        Some(s) => format!(
            "{:.2}x [{:.2}..{:.2}] ({target}{})",
            s.median,
            s.min,
            s.max,
            match met(s.median, goal) {
                Some(true) => ": met",
                Some(false) => ": MISSED",
                None => "",
            }
        ),
        None => format!("not measured ({target})"),
    }
}

/// A latency in microseconds as `721us` or `15.63ms`.
fn latency(micros: Option<f64>) -> String {
    match micros {
        None => "-".to_owned(),
        Some(us) if us < 1000.0 => format!("{us:.0}us"),
        Some(us) => format!("{:.2}ms", us / 1000.0),
    }
}

/// `value` with `decimals` decimals and its thousands grouped: `62,895`.
pub(crate) fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut out = String::from(sign);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::output::Output;

    fn run(ok: u64, cpu_s: f64) -> Result<Run, String> {
        Ok(Run {
            output: Output {
                ok,
                errors: 0,
                seconds: 1.0,
                p50_us: Some(700.0),
                p99_us: Some(9_000.0),
            },
            cpu_s,
            served: ok + 100,
            peak_rss_kib: 5_000,
        })
    }

    fn sample(round: usize, kind: Kind, run: Result<Run, String>) -> Sample {
        Sample {
            round,
            connections: 100,
            kind,
            run,
        }
    }

    #[test]
    fn ratios_are_taken_round_by_round() {
        let samples = [
            sample(0, Kind::Ttk, run(60_000, 0.6)),
            sample(0, Kind::Wrk, run(60_000, 0.8)),
            sample(1, Kind::Wrk, run(50_000, 0.5)),
            sample(1, Kind::Ttk, Err("died".to_owned())),
            sample(2, Kind::Ttk, run(62_000, 0.93)),
            sample(2, Kind::Wrk, run(62_000, 0.62)),
        ];
        let summary = Summary::new(&samples, &[100], PLAIN);
        let cpu = summary.ratios[0].cpu.unwrap();
        // Rounds 0 and 2 (ttk failed in round 1): 0.75 and 1.5.
        assert_eq!((cpu.min, cpu.median, cpu.max), (0.75, 1.125, 1.5));
        assert_eq!(
            summary.missed(false),
            ["ttk / wrk CPU per request at 100 connections"]
        );
        let wrk = summary.lines.iter().find(|l| l.kind == Kind::Wrk).unwrap();
        assert_eq!(wrk.rate.median, 60_000.0);
        assert_eq!(wrk.median_run.output.ok, 60_000);
        // 5,000 KiB peak over 100 connections, in every round.
        assert_eq!(wrk.rss_kib.map(|rss| rss.median), Some(50.0));
        let figures = summary.figures(None);
        let rss = figures
            .iter()
            .find(|figure| figure.name == "peers 100 conns: peak RSS per connection (wrk)")
            .expect("an RSS figure");
        assert!(matches!(rss.value, report::Value::Measured(kib) if kib == 50.0));
    }

    #[test]
    fn without_ttk_the_ratios_are_missed_unless_wrk_was_skipped() {
        let samples = [sample(0, Kind::Wrk, run(60_000, 0.8))];
        let summary = Summary::new(&samples, &[100], PLAIN);
        assert_eq!(summary.missed(false).len(), 2);
        assert!(summary.missed(true).is_empty());
        let figures = summary.figures(Some("wrk not found on PATH"));
        assert!(report::missed(&figures).is_empty());
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(62_895.88, 0), "62,896");
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(latency(Some(721.0)), "721us");
        assert_eq!(latency(Some(15_630.0)), "15.63ms");
    }
}
