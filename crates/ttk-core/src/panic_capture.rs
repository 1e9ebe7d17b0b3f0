//! What a bot's panic costs the loop: the panic hook that ttk installs.
//!
//! Rust's default hook prints every panic, and with `RUST_BACKTRACE=1` (set on many machines)
//! it also captures and symbolizes a backtrace, 100–200 ms on the loop's thread during which
//! no other bot runs. A run with many panicking bots would spend its time printing. So while a
//! loop polls its bots, the hook ttk installs only notes where the panic happened (the bot's
//! outcome carries it, with the message) and hands the panic to the hook that was there before
//! (the default one, or the program's) only for the first bot panic of the process: one
//! printed panic, with its backtrace if asked, then a note that the others are in the bots'
//! outcomes. Panics anywhere else go to the previous hook as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, PanicHookInfo};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// Whether this thread is polling bots: a panic now is a bot's, caught by the loop.
    static POLLING_BOTS: Cell<bool> = const { Cell::new(false) };
    /// Where the latest bot panic on this thread happened (`file:line:column`), until the loop
    /// takes it for the bot's outcome.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook, once per process.
static INSTALL: Once = Once::new();

/// Whether a bot panic was already handed to the previous hook (printed).
static FIRST_PRINTED: AtomicBool = AtomicBool::new(false);

/// Installs ttk's panic hook in front of the current one, once per process. A hook installed
/// later replaces it (and bot panics are then printed by that hook, at its cost).
pub(crate) fn install() {
    // `take_hook` may not be called while this thread unwinds (a run started from a
    // destructor): the next run installs it.
    if std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !POLLING_BOTS.try_with(Cell::get).unwrap_or(false) {
                return previous(info);
            }
            note_location(info);
            if !FIRST_PRINTED.swap(true, Ordering::Relaxed) {
                previous(info);
                eprintln!(
                    "note: ttk prints only the first bot panic; each bot's panic, its message \
                     and location, is in its outcome (and in the report's errors)"
                );
            }
        }));
    });
}

/// Keeps where the panic happened, for [`take_location`]; no backtrace is taken.
fn note_location(info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column()));
    let _ = LOCATION.try_with(|slot| *slot.borrow_mut() = location);
}

/// Marks this thread as polling bots (or not): the hook is quiet for bot panics only.
pub(crate) fn set_polling_bots(polling: bool) {
    POLLING_BOTS.with(|flag| flag.set(polling));
}

/// Where the bot panic just caught on this thread happened, if the hook saw it.
pub(crate) fn take_location() -> Option<String> {
    LOCATION.with(|slot| slot.borrow_mut().take())
}
