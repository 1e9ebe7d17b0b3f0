//! Ctrl-C and SIGTERM: the first stops the run gracefully (the reports are still written), a
//! second Ctrl-C exits at once.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use signal_hook::iterator::{Handle, Signals};

use ttk_core::StopHandle;

/// The exit code of a run ended by a second Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const EXIT_AT_ONCE: i32 = 130;

/// Set while no run watches the signals: they then do what they do by default (end the
/// process). Once signal-hook has taken a signal, unregistering its actions leaves the signal
/// ignored, not restored; this keeps Ctrl-C working before and after runs.
fn default_when_idle() -> io::Result<&'static Arc<AtomicBool>> {
    static IDLE: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let idle = IDLE.get_or_init(|| Arc::new(AtomicBool::new(true)));
    let registered = REGISTERED.get_or_init(|| {
        for signal in [SIGINT, SIGTERM] {
            flag::register_conditional_default(signal, Arc::clone(idle))
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    });
    match registered {
        Ok(()) => Ok(idle),
        Err(error) => Err(io::Error::other(error.clone())),
    }
}

/// Runs watching the signals in this process (tests may run several at once): the default
/// action comes back when the last one ends.
static WATCHERS: Mutex<usize> = Mutex::new(0);

/// Counts a run in (`+1`) or out (`-1`) of watching, and arms the default action when none is.
fn count_watcher(change: isize) -> io::Result<()> {
    let idle = default_when_idle()?;
    let mut watchers = WATCHERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *watchers = watchers.saturating_add_signed(change);
    idle.store(*watchers == 0, Ordering::SeqCst);
    Ok(())
}

/// Watches for the signals while a run goes on.
#[derive(Debug)]
pub(crate) struct Interrupts {
    received: Arc<AtomicBool>,
    /// The handlers registered, removed when the run is over.
    registered: Vec<SigId>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Interrupts {
    /// Stops the run through `stop` at the first SIGINT or SIGTERM; exits the process at the
    /// second.
    pub(crate) fn watch(stop: StopHandle) -> io::Result<Interrupts> {
        Interrupts::watch_with(move || stop.stop())
    }

    /// Like [`Interrupts::watch`], calling `on_first` (on a thread of its own) at the first
    /// signal.
    pub(crate) fn watch_with(on_first: impl FnOnce() + Send + 'static) -> io::Result<Interrupts> {
        default_when_idle()?;
        let received = Arc::new(AtomicBool::new(false));
        let mut registered = Vec::new();
        let mut register = || -> io::Result<Signals> {
            for signal in [SIGINT, SIGTERM] {
                // Registered before the flag is set by the same signal: the first signal finds
                // the flag clear and only sets it; a second finds it set and exits.
                registered.push(flag::register_conditional_shutdown(
                    signal,
                    EXIT_AT_ONCE,
                    Arc::clone(&received),
                )?);
                registered.push(flag::register(signal, Arc::clone(&received))?);
            }
            Signals::new([SIGINT, SIGTERM])
        };
        let signals = register();
        let mut signals = match signals {
            Ok(signals) => signals,
            Err(error) => {
                for id in registered {
                    signal_hook::low_level::unregister(id);
                }
                return Err(error);
            }
        };
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("ttk-signals".to_owned())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    on_first();
                }
            });
        let thread = match thread {
            Ok(thread) => thread,
            Err(error) => {
                handle.close();
                for id in registered {
                    signal_hook::low_level::unregister(id);
                }
                return Err(error);
            }
        };
        // Only now, with everything in place, does the default action step aside.
        count_watcher(1)?;
        Ok(Interrupts {
            received,
            registered,
            handle,
            thread: Some(thread),
        })
    }

    /// Whether a signal came.
    pub(crate) fn interrupted(&self) -> bool {
        self.received.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        // The default action comes back first, so that no signal falls between the two.
        let _ = count_watcher(-1);
        for id in self.registered.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
