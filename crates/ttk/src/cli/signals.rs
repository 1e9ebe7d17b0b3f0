//! Ctrl-C and SIGTERM: the first stops the run gracefully (the reports are still written), a
//! second Ctrl-C exits at once.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use signal_hook::iterator::{Handle, Signals};

use crate::StopHandle;

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
        default_when_idle()?.store(false, Ordering::SeqCst);
        let received = Arc::new(AtomicBool::new(false));
        let mut registered = Vec::new();
        for signal in [SIGINT, SIGTERM] {
            // Registered before the flag is set by the same signal: the first signal finds the
            // flag clear and only sets it; a second finds it set and exits.
            registered.push(flag::register_conditional_shutdown(
                signal,
                EXIT_AT_ONCE,
                Arc::clone(&received),
            )?);
            registered.push(flag::register(signal, Arc::clone(&received))?);
        }
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("ttk-signals".to_owned())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    stop.stop();
                }
            })?;
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
        for id in self.registered.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        if let Ok(idle) = default_when_idle() {
            idle.store(true, Ordering::SeqCst);
        }
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
