//! What the command line makes of a run before it starts: its plan (bots at the start, how
//! long load is made, the deadline, the iterations), which bot ids this process runs, the run id
//! and the parameters the report records. Both kinds of run read it — in this process
//! (`launch`, `run`) and as several (`processes`) — so it depends on neither.

use std::time::Duration;

use ttk_core::IdSlice;
use ttk_report::Parameters;

use super::LoadTest;
use super::shard::{cluster_job_id, derived_run_id, fresh_run_id};

/// How a run goes: bots at the start, how long load is made, when the run stops at the latest,
/// and each bot's iterations.
pub(crate) struct Plan {
    /// Bots this process starts at once, on one loop.
    pub(crate) first_bots: usize,
    /// Bots the whole run starts at once (cut among shards and workers).
    pub(crate) first_bots_of_all: usize,
    pub(crate) load_for: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) iterations: Option<u64>,
}

/// How many loops a process of the test runs: `run` runs one, `run_parallel` `--workers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loops {
    One,
    Parallel,
}

impl<A> LoadTest<A> {
    /// Which of the run's bot ids this process runs: a shard's, or all of them.
    pub(crate) fn id_slice(&self) -> IdSlice {
        let args = &self.args;
        let planned = match (&args.rate, &args.ramp_up) {
            (Some(_), _) => 0,
            (None, Some(ramp)) => ramp.bots(args.bots),
            (None, None) => args.bots,
        };
        let slice = match args.shard {
            None => IdSlice::whole(),
            Some(shard) => IdSlice::new(shard.index as usize, shard.count as usize)
                .expect("--shard was checked"),
        };
        slice.planned(planned).together(self.together)
    }

    /// The run id: as given; for a shard, derived from what its sibling shards have in common
    /// with it and another run has not — the test, its parameters and the `--start-at` time, or
    /// the Slurm job that started them; otherwise fresh, unique to this run.
    pub(crate) fn run_id(&self) -> String {
        let args = &self.args;
        if let Some(id) = &args.run_id {
            return id.clone();
        }
        if args.shard.is_none() {
            return fresh_run_id(&self.name);
        }
        let job = cluster_job_id();
        if args.start_at.is_none() && job.is_none() {
            let id = fresh_run_id(&self.name);
            // The parent of --processes gives its children a run id: this is a shard on its own.
            eprintln!(
                "warning: --shard without --run-id or --start-at: nothing ties this shard to \
                 its siblings, so its run id is its own ({id}) and its report merges with no \
                 other; give every shard of the run the same --run-id"
            );
            return id;
        }
        let mut parameters = self.parameters();
        parameters.command_line.clear();
        let mut key = serde_json::to_string(&parameters).expect("parameters serialize");
        if let Some(job) = job {
            key.push_str("\0job ");
            key.push_str(&job);
        }
        derived_run_id(&self.name, &key)
    }

    pub(crate) fn plan(&self) -> Plan {
        let args = &self.args;
        if let Some(rate) = &args.rate {
            let load_for = args.duration.or(rate.total_duration());
            return Plan {
                first_bots: 0,
                first_bots_of_all: 0,
                load_for,
                deadline: load_for.map(|load_for| load_for.saturating_add(args.grace)),
                iterations: Some(args.iterations.unwrap_or(1)),
            };
        }
        let iterations = match (args.iterations, args.duration) {
            (Some(iterations), _) => Some(iterations),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        Plan {
            first_bots: match args.ramp_up {
                Some(_) => 0,
                None => self.id_slice().first_ids().len(),
            },
            first_bots_of_all: match args.ramp_up {
                Some(_) => 0,
                None => args.bots,
            },
            load_for: args.duration,
            deadline: args
                .duration
                .map(|duration| duration.saturating_add(args.grace)),
            iterations,
        }
    }

    pub(crate) fn parameters(&self) -> Parameters {
        if let Some(recorded) = &self.recorded {
            return recorded.clone();
        }
        self.parameters_of_the_flags()
    }

    /// The run's parameters as the standard flags give them.
    pub(crate) fn parameters_of_the_flags(&self) -> Parameters {
        let args = &self.args;
        let bots = match (&args.rate, &args.ramp_up) {
            (Some(_), _) => None,
            (None, Some(ramp)) => Some(ramp.bots(args.bots) as u64),
            (None, None) => Some(args.bots as u64),
        };
        Parameters {
            bots,
            ramp_up: args.ramp_up.as_ref().map(|ramp| ramp.to_string()),
            duration: args
                .duration
                .map(|duration| humantime::format_duration(duration).to_string()),
            rate: args.rate.as_ref().map(|rate| rate.to_string()),
            iterations: args.iterations,
            seed: args.seed,
            target: args.target.as_deref().map(crate::redact_url),
            start_at: args.start_at.as_ref().map(|at| at.as_str().to_owned()),
            net: args.net.clone(),
            local_ips: args.local_ips.clone(),
            command_line: redact_secrets(&self.command_line),
        }
    }
}

/// `command_line` with the value of `--dashboard-token` and the secrets of URLs (a password,
/// credential parameters: `--remote-write https://user:password@…`) taken out: reports are
/// kept and shared.
fn redact_secrets(command_line: &[String]) -> Vec<String> {
    let mut redacted = Vec::with_capacity(command_line.len());
    let mut words = command_line.iter();
    while let Some(word) = words.next() {
        if word == "--dashboard-token" {
            redacted.push(word.clone());
            if words.next().is_some() {
                redacted.push("[redacted]".to_owned());
            }
        } else if word.starts_with("--dashboard-token=") {
            redacted.push("--dashboard-token=[redacted]".to_owned());
        } else if let Some((flag, url)) = word
            .split_once('=')
            .filter(|(flag, _)| flag.starts_with("--"))
            && url.contains("://")
        {
            redacted.push(format!("{flag}={}", crate::redact_url(url)));
        } else if word.contains("://") {
            redacted.push(crate::redact_url(word));
        } else {
            redacted.push(word.clone());
        }
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_passwords_in_urls_are_not_recorded() {
        let typed: Vec<String> = [
            "load",
            "--remote-write",
            "https://u:s3cret@metrics.example/push",
            "--remote-write=https://u:s3cret@metrics.example/push",
            "--dashboard-token",
            "t0ken",
            "--users",
            "5",
        ]
        .map(String::from)
        .to_vec();
        let recorded = redact_secrets(&typed).join(" ");
        assert!(
            !recorded.contains("s3cret") && !recorded.contains("t0ken"),
            "{recorded}"
        );
        assert!(
            recorded.contains("--remote-write=https://u:[redacted]@metrics.example/push"),
            "{recorded}"
        );
        assert!(recorded.ends_with("--users 5"), "{recorded}");
    }
}
