//! What the storm examples (`echo_storm`, `udp_storm`, `stall_demo`) do before their run: the
//! older `--seconds` spelling, a default length, and their target — given, or started here.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ttk::cli::{LoadTest, clap};

/// The flags the storm examples add to the standard ones.
#[derive(clap::Args, Debug, Default)]
pub struct StormFlags {
    /// The run's length in seconds (an older spelling of --duration).
    #[arg(long, hide = true, value_name = "S")]
    pub seconds: Option<f64>,
}

/// Applies `--seconds`, a 5 s length when the command line gives none (no `--duration`,
/// `--iterations` or `--rate`), and the target: `--target` as an address, or the one `start`
/// makes. Returns the target, or the exit code to leave with (2 for a bad command line, 3 when
/// the target could not be started), having said why.
///
/// # Examples
/// ```
/// use std::net::SocketAddr;
/// use std::time::Duration;
/// use ttk::cli::LoadTest;
/// use ttk_examples::storm_setup::{StormFlags, prepare};
///
/// let mut test: LoadTest<StormFlags> =
///     LoadTest::try_from_args_with("demo", ["demo", "--seconds", "2"]).unwrap();
/// let target = prepare(&mut test, "demo", || Ok("127.0.0.1:9".parse().unwrap())).unwrap();
/// assert_eq!(target, "127.0.0.1:9".parse::<SocketAddr>().unwrap());
/// assert_eq!(test.args().duration, Some(Duration::from_secs(2)));
/// assert_eq!(test.args().target.as_deref(), Some("127.0.0.1:9"));
/// ```
pub fn prepare(
    test: &mut LoadTest<StormFlags>,
    name: &str,
    start: impl FnOnce() -> io::Result<SocketAddr>,
) -> Result<SocketAddr, ExitCode> {
    let seconds = test.flags().seconds;
    let args = test.args_mut();
    if let Some(seconds) = seconds {
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if !duration.is_zero() => args.duration = Some(duration),
            _ => {
                eprintln!("{name}: --seconds: not a positive number: {seconds}");
                return Err(ExitCode::from(2));
            }
        }
    }
    if args.duration.is_none() && args.iterations.is_none() && args.rate.is_none() {
        args.duration = Some(Duration::from_secs(5));
    }
    let target = match &args.target {
        Some(target) => target.parse::<SocketAddr>().map_err(|_| {
            eprintln!("{name}: --target must be IP:PORT, not {target:?}");
            ExitCode::from(2)
        })?,
        None => start().map_err(|error| {
            eprintln!("{name}: the target could not be started: {error}");
            ExitCode::from(3)
        })?,
    };
    test.default_target(|| target.to_string());
    Ok(target)
}
