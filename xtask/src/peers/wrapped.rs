//! A client run once under a tool that watches it (`perf stat`, `strace`, `valgrind`): the
//! same command line as in a timed round, with the tool's own command line before it, pinned
//! to the same core, its response count read from its own output as in a timed round.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use super::client::{self, Client, Target};
use super::output::Output;

impl Client {
    /// Runs the client against `target` with `connections` for `seconds` under `tool` (its
    /// program and arguments, ending where the client's program goes), pinned to `core`, its
    /// output in `dir/<files>.*`: what the client reported (its count of responses divides
    /// the tool's counts), or an error, with what it printed, if it failed or printed no
    /// figures.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_under(
        &self,
        tool: &[OsString],
        target: &Target,
        connections: u64,
        seconds: u64,
        core: usize,
        dir: &Path,
        files: &str,
    ) -> Result<Output, String> {
        let report = dir.join(format!("{files}.json"));
        let _ = std::fs::remove_file(&report);
        let inner = self
            .kind
            .command(&self.binary, target, connections, seconds, &report);
        let mut command = wrap(tool, &inner)?;
        let ran = client::run_pinned(&mut command, seconds, core, dir, files)?;
        let words: Vec<_> = tool.iter().map(|word| word.to_string_lossy()).collect();
        let label = format!(
            "{} -c {connections} under `{}`",
            self.kind.name(),
            words.join(" ")
        );
        let ran = ran.check(&label)?;
        self.kind
            .parse(&ran.stdout, &report)
            .map_err(|what| ran.failure(&label, &what))
    }
}

/// `tool` followed by `inner`'s program and arguments, with `inner`'s environment (oha's
/// `TOKIO_WORKER_THREADS`): the tool passes its environment on to what it starts.
fn wrap(tool: &[OsString], inner: &Command) -> Result<Command, String> {
    let (program, arguments) = tool
        .split_first()
        .ok_or("no tool to run the client under")?;
    let mut command = Command::new(program);
    command
        .args(arguments)
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_comes_first_and_the_client_keeps_its_arguments_and_environment() {
        let mut inner = Command::new("/usr/bin/oha");
        inner.args(["-c", "100"]).env("TOKIO_WORKER_THREADS", "1");
        let tool: Vec<OsString> = ["strace", "-c", "--"].map(OsString::from).to_vec();
        let command = wrap(&tool, &inner).unwrap();
        assert_eq!(command.get_program(), "strace");
        let arguments: Vec<_> = command.get_args().collect();
        assert_eq!(arguments, ["-c", "--", "/usr/bin/oha", "-c", "100"]);
        let environment: Vec<_> = command.get_envs().collect();
        assert_eq!(
            environment,
            [("TOKIO_WORKER_THREADS".as_ref(), Some("1".as_ref()))]
        );
        assert!(wrap(&[], &inner).is_err());
    }
}
