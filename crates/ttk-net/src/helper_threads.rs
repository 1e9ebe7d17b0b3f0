//! A few process-wide helper threads for blocking work that must not run on a loop thread
//! (name lookups).
//!
//! Threads start lazily, one per job that finds no idle thread, up to [`MAX_THREADS`]; further
//! jobs queue. Idle threads stay parked on a condition variable for the life of the process:
//! there are at most a few, a parked thread costs no CPU, and never exiting keeps the
//! bookkeeping free of the race between a thread deciding to exit and a job arriving.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

/// The most helper threads at once. Lookups can take seconds (a DNS server that does not
/// answer), so one thread would let one slow name hold up every other; but 10,000 bots looking
/// up names at once must not start 10,000 threads, so beyond this, jobs wait their turn.
const MAX_THREADS: usize = 4;

/// Work for a helper thread. It must not panic: a panic would end its thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The jobs and the threads that run them.
struct Pool {
    /// The queue and the thread counts.
    state: Mutex<State>,
    /// Signalled when a job is queued.
    queued: Condvar,
}

/// What [`Pool::state`] guards.
struct State {
    /// Jobs not yet taken, oldest first.
    queue: VecDeque<Job>,
    /// Threads started (they never exit).
    threads: usize,
    /// Threads parked waiting for a job.
    idle: usize,
}

/// The process's pool.
static POOL: Pool = Pool {
    state: Mutex::new(State {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    queued: Condvar::new(),
};

/// Runs `job` on a helper thread, starting one if none is idle and fewer than [`MAX_THREADS`]
/// run.
///
/// # Errors
/// The OS's, if no helper thread runs and none could be started (`job` is then dropped).
pub(crate) fn execute(job: Job) -> io::Result<()> {
    let mut state = lock();
    state.queue.push_back(job);
    // Idle threads are counted until they wake and take a job, so jobs beyond their number
    // need another thread.
    if state.queue.len() > state.idle && state.threads < MAX_THREADS {
        match thread::Builder::new()
            .name("ttk-net-lookup".into())
            .spawn(work)
        {
            Ok(_) => state.threads += 1,
            Err(error) if state.threads == 0 => {
                state.queue.pop_back();
                return Err(error);
            }
            // The running threads will get to it.
            Err(_) => {}
        }
    }
    drop(state);
    POOL.queued.notify_one();
    Ok(())
}

/// A helper thread: takes jobs one at a time, forever.
fn work() {
    loop {
        let job = {
            let mut state = lock();
            loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                state.idle += 1;
                state = POOL
                    .queued
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.idle -= 1;
            }
        };
        job();
    }
}

/// Locks the pool's state. Nothing panics while holding it; a poisoned lock is used as is.
fn lock() -> MutexGuard<'static, State> {
    POOL.state.lock().unwrap_or_else(PoisonError::into_inner)
}
