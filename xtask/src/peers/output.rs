//! What every client's output comes down to, whichever tool printed it.

/// One client run's figures, as the client itself counted them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Output {
    /// Responses with a 2xx status.
    pub(crate) ok: u64,
    /// Everything else the client counted: other statuses, socket errors, timeouts.
    pub(crate) errors: u64,
    /// How long the client says it ran, in seconds.
    pub(crate) seconds: f64,
    /// Median latency, in microseconds (`None` if the client measured none).
    pub(crate) p50_us: Option<f64>,
    /// 99th percentile latency, in microseconds.
    pub(crate) p99_us: Option<f64>,
}

impl Output {
    /// Successful responses per second.
    pub(crate) fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// `text` as a number of the given kind, or an error naming `what` it should have been.
pub(crate) fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.trim()
        .replace(',', "")
        .parse()
        .map_err(|_| format!("{what}: not a number: {text:?}"))
}
