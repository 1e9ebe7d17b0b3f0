//! The run as it goes: the collector every loop's seconds go into, shared with the live
//! dashboard and Prometheus' `/metrics` ([`server`]), which read the report in the making
//! under the same lock — nothing is copied for a reader but what it renders.

pub(crate) mod remote_write;
pub(crate) mod server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ttk_report::Report;

use std::time::{Duration, Instant};

use super::collector::Collector;
use super::control::Control;
use super::signals::Interrupts;
use server::{Server, Serves};

/// The run's report in the making, then, once the run is over, the final one.
#[derive(Debug)]
pub(crate) struct Live {
    state: Mutex<State>,
    /// Live control, if the run has it: its changes show in the live view.
    control: Option<Arc<Control>>,
    /// Changes each time the report does (a loop's second added, the final report set).
    version: AtomicU64,
    /// What was rendered of each version, by what it is (`/live`, `/metrics`…): a page polled
    /// by several viewers, or scraped twice in a second, is rendered once.
    rendered: Mutex<HashMap<&'static str, Rendered>>,
}

/// A rendering, and the version of the report it was made from.
type Rendered = (u64, Arc<[u8]>);

#[derive(Debug)]
enum State {
    /// The loops' seconds are being added.
    Running(Box<Collector>),
    /// The collector was finished; the final report, once the run set it.
    Finished(Option<Box<Report>>),
}

impl Live {
    /// The live state of a run whose report starts as `report`.
    pub(crate) fn new(report: Report, control: Option<Arc<Control>>) -> Arc<Live> {
        Arc::new(Live {
            control,
            state: Mutex::new(State::Running(Box::new(Collector::new(report)))),
            version: AtomicU64::new(0),
            rendered: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `add` on the collector while the run goes on (`None` after).
    pub(crate) fn with_collector<R>(&self, add: impl FnOnce(&mut Collector) -> R) -> Option<R> {
        let mut state = self.lock();
        let added = match &mut *state {
            State::Running(collector) => Some(add(collector)),
            State::Finished(_) => None,
        };
        // A new version only once the change is in, and before the lock is let go: a reader
        // that saw it renders the change (one that bumped first could render the report
        // without it under the new version, and serve that until the next second).
        self.version.fetch_add(1, Ordering::SeqCst);
        drop(state);
        added
    }

    /// Takes the collector out to finish it: from now on readers wait for
    /// [`Live::set_final`].
    pub(crate) fn take_collector(&self) -> Option<Collector> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Finished(None)) {
            State::Running(collector) => Some(*collector),
            State::Finished(report) => {
                *state = State::Finished(report);
                None
            }
        }
    }

    /// The run's final report, served from now on.
    pub(crate) fn set_final(&self, report: Report) {
        let mut state = self.lock();
        *state = State::Finished(Some(Box::new(report)));
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// `what`, rendered by `render` from the report as it is now, or as rendered before if the
    /// report has not changed since; `None` while the report is being finished.
    pub(crate) fn rendered(
        &self,
        what: &'static str,
        render: impl FnOnce(&Report, u64, bool) -> Vec<u8>,
    ) -> Option<Arc<[u8]>> {
        let mut rendered = self
            .rendered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let version = self.version.load(Ordering::SeqCst);
        if let Some((at, bytes)) = rendered.get(what)
            && *at == version
        {
            return Some(Arc::clone(bytes));
        }
        let with_series = matches!(what, "/" | "/live" | "/report.json");
        match self.read_with(with_series, render) {
            Some(bytes) => {
                let bytes: Arc<[u8]> = bytes.into();
                rendered.insert(what, (version, Arc::clone(&bytes)));
                Some(bytes)
            }
            // While the final report is being made, the last rendering stands.
            None => rendered.get(what).map(|(_, bytes)| Arc::clone(bytes)),
        }
    }

    /// Runs `read` on the report as it is now, with the bots alive now and whether the run is
    /// over; `None` between the collector's end and the final report.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&Report, u64, bool) -> R) -> Option<R> {
        self.read_with(false, read)
    }

    /// [`Live::read`], with the series so far in the report if `with_series` (a page's charts
    /// need it; counts and `/metrics` do not, and are spared building it).
    fn read_with<R>(
        &self,
        with_series: bool,
        read: impl FnOnce(&Report, u64, bool) -> R,
    ) -> Option<R> {
        match &mut *self.lock() {
            State::Running(collector) => {
                let bots = collector.active_bots();
                let changes = self
                    .control
                    .as_ref()
                    .map(|control| control.made())
                    .unwrap_or_default();
                Some(
                    collector
                        .with_live_report(with_series, changes, |report| read(report, bots, false)),
                )
            }
            State::Finished(Some(report)) => Some(read(report, 0, true)),
            State::Finished(None) => None,
        }
    }
}

/// Starts the servers `--dashboard` and `--metrics` ask for, saying where they listen; one
/// that cannot listen is said and left out (the run goes on without it).
pub(crate) fn serve(
    args: &super::LoadArgs,
    live: &Arc<Live>,
    control: Option<&Arc<Control>>,
) -> Vec<Server> {
    let mut servers = Vec::new();
    let asked = [
        (args.dashboard.as_deref(), Serves::Dashboard),
        (args.metrics.as_deref(), Serves::Metrics),
    ];
    for (addr, serves) in asked {
        let Some(addr) = addr else { continue };
        let what = match serves {
            Serves::Dashboard => "dashboard",
            Serves::Metrics => "Prometheus metrics",
        };
        let control = match serves {
            Serves::Dashboard => control.cloned(),
            Serves::Metrics => None,
        };
        let token = args.dashboard_token.clone();
        match Server::start(addr, Arc::clone(live), serves, control, token) {
            Ok(server) => {
                let path = match serves {
                    Serves::Dashboard => "/",
                    Serves::Metrics => "/metrics",
                };
                if !args.progress_lines {
                    eprintln!("{what}: {}", server.url(path));
                }
                servers.push(server);
            }
            Err(error) => eprintln!("warning: no {what}: {error}"),
        }
    }
    servers
}

/// After the run, keeps `servers` serving the final report for `linger` (if given), or until
/// Ctrl-C.
pub(crate) fn linger(servers: &[Server], linger: Option<Duration>) {
    let Some(linger) = linger.filter(|linger| !linger.is_zero()) else {
        return;
    };
    let Some(first) = servers.first() else {
        return;
    };
    let watch = Interrupts::watch_with(|| {});
    eprintln!(
        "serving the final report at {} for {} (Ctrl-C to stop)",
        first.url("/"),
        humantime::format_duration(linger)
    );
    let until = Instant::now() + linger;
    while Instant::now() < until {
        if watch.as_ref().is_ok_and(Interrupts::interrupted) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts pushing `live`'s metrics if `--remote-write` asks (not in a child of `--processes`:
/// its parent pushes the sum); one that cannot start is said, and the run goes on.
pub(crate) fn push(args: &super::LoadArgs, live: &Arc<Live>) -> Option<remote_write::Pusher> {
    let url = args.remote_write.as_deref()?;
    if args.progress_lines {
        return None;
    }
    let endpoint = url.parse().ok()?;
    match remote_write::Pusher::start(endpoint, Arc::clone(live)) {
        Ok(pusher) => Some(pusher),
        Err(error) => {
            eprintln!(
                "warning: no remote write to {}: {error}",
                crate::redact_url(url)
            );
            None
        }
    }
}
