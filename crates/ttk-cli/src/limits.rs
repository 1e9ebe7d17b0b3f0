//! The open-file limit, checked before a run that would run into it.

/// Descriptors a run needs besides its sockets: the loops' selectors and wakers, standard
/// streams, report files.
const SPARE_DESCRIPTORS: u64 = 64;

/// Fails (exit code 2, with a message saying what to do) if `sockets` more descriptors (those
/// of one process, the run being cut in `parts` processes or shards if given) would pass the
/// process's open-file limit: a run that would find out part way through, with some
/// connections failing as "Too many open files", measures the limit rather than the server.
pub(crate) fn check_open_files(sockets: u64, parts: Option<u32>) -> Result<(), u8> {
    raise_to_hard_limit();
    let limit = open_file_limit();
    if sockets + SPARE_DESCRIPTORS > limit {
        let usable = limit.saturating_sub(SPARE_DESCRIPTORS).max(1);
        let processes = (sockets * u64::from(parts.unwrap_or(1))).div_ceil(usable);
        let whose = match parts {
            Some(parts) => format!(" (each of {parts} processes or shards)"),
            None => String::new(),
        };
        eprintln!(
            "error: {sockets} connections{whose} need {sockets} open files, and a process may \
             open {limit} (`ulimit -n`). Raise the limit, use fewer connections, or spread them \
             over processes: --processes {processes} (on this machine) or --shard I/{processes} \
             (on several)."
        );
        return Err(2);
    }
    Ok(())
}

/// The open files a process may use for its sockets: the limit (raised to the hard one) less
/// those it needs besides.
pub(crate) fn usable_open_files() -> u64 {
    raise_to_hard_limit();
    open_file_limit().saturating_sub(SPARE_DESCRIPTORS).max(1)
}

/// The most open files ttk asks for itself: more would only size the kernel's tables.
const MOST_FILES: u64 = 1 << 20;

/// Raises the soft limit on open files to the hard one (as Go programs do by themselves): many
/// systems set a soft limit of 1,024 under a hard one of a million, and a load generator that
/// stopped at the first would measure the setting, not the server.
fn raise_to_hard_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points to a live,
    // properly aligned `rlimit` on this stack frame.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let wanted = limit.rlim_max.min(MOST_FILES as libc::rlim_t);
    if limit.rlim_cur >= wanted {
        return;
    }
    limit.rlim_cur = wanted;
    // SAFETY: `setrlimit` reads one `rlimit` through the pointer, a live `rlimit` on this
    // stack frame; a soft limit at or under the hard one is always allowed.
    unsafe {
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
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
        assert_eq!(check_open_files(1, None), Ok(()));
        if limit != u64::MAX {
            assert_eq!(check_open_files(limit, None), Err(2));
            assert_eq!(check_open_files(limit, Some(4)), Err(2));
        }
    }
}
