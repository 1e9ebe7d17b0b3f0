//! What the storm examples share: their command line and their tally.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Options of a storm example: `--bots N --seconds S [--target ADDR]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StormArgs {
    /// Number of bots.
    pub bots: usize,
    /// How long they run.
    pub duration: Duration,
    /// A target to aim at instead of starting one in-process.
    pub target: Option<String>,
}

impl Default for StormArgs {
    /// 100 bots for 5 seconds against a target started in-process.
    fn default() -> Self {
        StormArgs {
            bots: 100,
            duration: Duration::from_secs(5),
            target: None,
        }
    }
}

impl StormArgs {
    /// Parses `args` (without the program name), starting from `defaults`.
    ///
    /// # Errors
    /// A message naming the bad or unknown option.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_examples::storm::StormArgs;
    ///
    /// let defaults = StormArgs { bots: 100, duration: Duration::from_secs(5), target: None };
    /// let args = ["--bots", "10", "--seconds", "0.5"].map(String::from);
    /// let parsed = StormArgs::parse(args, defaults).unwrap();
    /// assert_eq!((parsed.bots, parsed.duration), (10, Duration::from_millis(500)));
    /// ```
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        defaults: StormArgs,
    ) -> Result<StormArgs, String> {
        let mut parsed = defaults;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--bots" => {
                    let text = value()?;
                    parsed.bots = text
                        .parse()
                        .map_err(|_| format!("--bots: not a count: {text}"))?;
                }
                "--seconds" => {
                    let text = value()?;
                    let seconds: f64 = text
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| format!("--seconds: not a positive number: {text}"))?;
                    parsed.duration = Duration::from_secs_f64(seconds);
                }
                "--target" => parsed.target = Some(value()?),
                other => {
                    return Err(format!(
                        "unknown option {other}; options: --bots N --seconds S [--target ADDR]"
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// The address to aim at: `--target`, or one that `start` starts in this process.
    ///
    /// # Errors
    /// A bad `--target`, or what `start` returns.
    pub fn target(&self, start: impl FnOnce() -> io::Result<SocketAddr>) -> io::Result<SocketAddr> {
        match &self.target {
            Some(addr) => addr.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("bad address {addr}"))
            }),
            None => start(),
        }
    }

    /// Parses the process's arguments over the defaults, or prints the error and exits with
    /// status 2.
    pub fn from_env_or_exit() -> StormArgs {
        StormArgs::parse(std::env::args().skip(1), StormArgs::default()).unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2);
        })
    }
}

/// Requests, errors and latencies of one run, shared by its bots (they share a thread).
#[derive(Debug)]
pub struct Tally {
    /// Round-trip latencies in microseconds.
    latencies: RefCell<Histogram<u64>>,
    /// Errors seen.
    errors: Cell<u64>,
    /// The first error's text.
    first_error: RefCell<Option<String>>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            latencies: RefCell::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            ),
            errors: Cell::new(0),
            first_error: RefCell::new(None),
        }
    }
}

impl Tally {
    /// Records a completed request.
    pub fn request(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latencies.borrow_mut().saturating_record(micros);
    }

    /// Records an error.
    pub fn error(&self, error: impl fmt::Display) {
        self.errors.set(self.errors.get() + 1);
        self.first_error
            .borrow_mut()
            .get_or_insert_with(|| error.to_string());
    }

    /// Completed requests.
    pub fn requests(&self) -> u64 {
        self.latencies.borrow().len()
    }

    /// Prints the summary of a run that lasted `elapsed`; an error if no request completed.
    ///
    /// # Errors
    /// If no request completed: the run measured nothing.
    pub fn report(&self, elapsed: Duration) -> io::Result<()> {
        println!("{}", self.summary(elapsed));
        if self.requests() == 0 {
            return Err(io::Error::other("no request completed"));
        }
        Ok(())
    }

    /// Errors seen.
    pub fn errors(&self) -> u64 {
        self.errors.get()
    }

    /// The summary printed at the end of a run that lasted `elapsed`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let tally = ttk_examples::storm::Tally::default();
    /// tally.request(Duration::from_micros(40));
    /// let text = tally.summary(Duration::from_secs(1));
    /// assert!(text.contains("requests: 1"), "{text}");
    /// ```
    pub fn summary(&self, elapsed: Duration) -> String {
        let latencies = self.latencies.borrow();
        let requests = latencies.len();
        let rate = requests as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
        let mut text = format!(
            "requests: {requests}\nerrors: {}\nrequests/s: {rate:.0}\n\
             latency p50: {} us\nlatency p99: {} us\nlatency max: {} us",
            self.errors.get(),
            latencies.value_at_quantile(0.5),
            latencies.value_at_quantile(0.99),
            latencies.max(),
        );
        if let Some(error) = &*self.first_error.borrow() {
            text.push_str(&format!("\nfirst error: {error}"));
        }
        text
    }
}
