//! The exit codes of a load test (see the [module docs](super)).

/// The run ended and every threshold held.
pub(crate) const PASSED: u8 = 0;
/// A threshold failed.
pub(crate) const THRESHOLD_FAILED: u8 = 1;
/// A bad command line (or reports that do not merge).
pub(crate) const BAD_COMMAND_LINE: u8 = 2;
/// The run failed, or its reports could not be made or written (or a shard is missing).
pub(crate) const RUN_FAILED: u8 = 3;
/// Interrupted (Ctrl-C or SIGTERM).
pub(crate) const INTERRUPTED: u8 = 130;
