//! The open-file limit, checked before a run that would run into it.

/// Descriptors a run needs besides its sockets: the loops' selectors and wakers, standard
/// streams, report files.
const SPARE_DESCRIPTORS: u64 = 64;

/// Fails (exit code 2, with a message saying what to do) if `sockets` more descriptors would
/// pass the process's open-file limit: a run that would find out part way through, with some
/// connections failing as "Too many open files", measures the limit rather than the server.
pub(crate) fn check_open_files(sockets: u64) -> Result<(), u8> {
    let limit = open_file_limit();
    if sockets + SPARE_DESCRIPTORS > limit {
        eprintln!(
            "error: {sockets} connections need {sockets} open files, and this process may open \
             {limit} (`ulimit -n`). Raise the limit or use fewer connections, or spread them over \
             processes or machines (a load test written with the ttk crate runs --processes N \
             and --shard I/N)."
        );
        return Err(2);
    }
    Ok(())
}

/// The soft limit on open files (`u64::MAX` if unlimited or unknown).
fn open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to a live,
    // properly aligned `rlimit` on this stack frame.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if read != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return u64::MAX;
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_sockets_than_the_limit_is_refused() {
        let limit = open_file_limit();
        assert!(limit > SPARE_DESCRIPTORS, "a limit of {limit}");
        assert_eq!(check_open_files(1), Ok(()));
        if limit != u64::MAX {
            assert_eq!(check_open_files(limit), Err(2));
        }
    }
}
