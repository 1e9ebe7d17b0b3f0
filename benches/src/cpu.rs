//! This process's CPU time as the kernel counts it.

/// User and system CPU time of this process so far, in seconds (`getrusage`).
///
/// # Examples
/// ```
/// let before = ttk_benches::cpu_seconds();
/// let spin: u64 = (0..1_000_000u64).map(std::hint::black_box).sum();
/// assert!(spin > 0 && ttk_benches::cpu_seconds() >= before);
/// ```
pub fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes one `rusage` through a pointer to a live local.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(status, 0, "getrusage failed");
    // SAFETY: `getrusage` succeeded, so it initialized the value (and zeroed is valid anyway).
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
