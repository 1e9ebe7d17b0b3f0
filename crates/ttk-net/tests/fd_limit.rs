//! Reaching the open-file limit is a clear error that names the limit; the run goes on.
//!
//! The limit cannot be raised here, but it can be lowered: the test runs itself again in a child
//! process with `RLIMIT_NOFILE` lowered to 64, so the rest of the suite keeps its descriptors.

use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::{LimitReached, TcpListener, TcpStream};

/// The lowered soft limit in the child.
const LOWERED_LIMIT: u64 = 64;
/// Set in the child's environment.
const CHILD_ENV: &str = "TTK_FD_LIMIT_CHILD";

#[test]
fn reaching_the_open_file_limit_names_it_and_the_run_goes_on() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_connects_past_the_limit", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// Bot 0 hosts a listener and accepts; the others connect and hold their connection a moment.
#[bot(crate = ttk_core)]
fn crowd(
    _cx: Cx,
    id: usize,
    addr: std::rc::Rc<std::cell::Cell<Option<SocketAddr>>>,
) -> io::Result<usize> {
    if id == 0 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        addr.set(Some(listener.local_addr()?));
        let mut accepted = Vec::new();
        let until = ttk_core::now() + Duration::from_millis(500);
        while ttk_core::now() < until {
            let left = until.saturating_duration_since(ttk_core::now());
            match ttk_core::yield_!(ttk_core::timeout(left, listener.accept())) {
                Ok(Ok((stream, _))) => accepted.push(stream),
                // Out of descriptors on the server side too: keep serving what we have.
                Ok(Err(error)) if error.kind() == io::ErrorKind::QuotaExceeded => {
                    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5)));
                }
                Ok(Err(error)) => return Err(error),
                Err(_) => break,
            }
        }
        return Ok(accepted.len());
    }
    let target = addr.get().expect("bot 0 ran first");
    let stream = ttk_core::yield_!(TcpStream::connect(target))?;
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    drop(stream);
    Ok(1)
}

#[test]
fn child_connects_past_the_limit() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: LOWERED_LIMIT,
        rlim_max: LOWERED_LIMIT.max(hard_limit()),
    };
    // SAFETY: `setrlimit` reads one `rlimit` from a live local.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    let addr = std::rc::Rc::new(std::cell::Cell::new(None));
    let outcomes = ttk_core::run(200, |cx, id| crowd(cx, id, addr.clone()));
    let connected = outcomes[1..]
        .iter()
        .filter(|outcome| outcome.is_ok())
        .count();
    let refused: Vec<&io::Error> = outcomes[1..]
        .iter()
        .filter_map(|o| o.as_ref().err())
        .collect();
    assert!(connected > 0, "no bot connected at all");
    assert!(!refused.is_empty(), "the limit was never reached");
    for error in &refused {
        assert_eq!(error.kind(), io::ErrorKind::QuotaExceeded, "{error}");
        let limit = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<LimitReached>());
        assert!(
            matches!(
                limit,
                Some(LimitReached::OpenFiles {
                    soft: LOWERED_LIMIT,
                    ..
                })
            ),
            "{error}"
        );
        assert!(error.to_string().contains("ulimit -n"), "{error}");
    }
    println!(
        "{connected} connected, {} hit the limit: {}",
        refused.len(),
        refused[0]
    );
}

/// The current hard limit.
fn hard_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` to a live local.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(status, 0);
    limit.rlim_max
}
