//! This process's memory as Linux reports it in `/proc/self/status`.

/// Peak resident set size of this process so far, in bytes (Linux: `VmHWM`).
///
/// # Examples
/// ```
/// assert!(ttk_benches::peak_rss_bytes().unwrap() > 0);
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resident set size of this process now, in bytes (Linux: `VmRSS`): unlike the peak, it falls
/// when memory is given back, so samples of it show growth over a run.
///
/// # Examples
/// ```
/// let now = ttk_benches::rss_bytes().unwrap();
/// assert!(now > 0 && now <= ttk_benches::peak_rss_bytes().unwrap());
/// ```
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// The size on the line of `/proc/self/status` that starts with `field` (given in KiB), in
/// bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
