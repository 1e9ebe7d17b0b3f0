//! The seconds of a run of several loops (or processes) that the live progress can show: each
//! once, once every source still running has sent it. Used by the collector of one process's
//! loops and by the parent of `--processes`.

/// Which seconds of a run of several loops (or processes) can be shown: those every source
/// still running has sent (a source sends its seconds in order; one that ended sends no
/// more), each once.
#[derive(Debug)]
pub(crate) struct SecondsShown {
    /// The latest second each source sent, while it runs (`Some(0)`: none yet; `None`: ended).
    latest: Vec<Option<u64>>,
    /// Seconds up to this one were shown.
    shown: u64,
}

impl SecondsShown {
    pub(crate) fn new(sources: usize) -> SecondsShown {
        SecondsShown {
            latest: vec![Some(0); sources],
            shown: 0,
        }
    }

    /// Source `from` sent second `t` (its last, if `last`); returns the seconds to show now.
    pub(crate) fn heard(
        &mut self,
        from: usize,
        t: u64,
        last: bool,
    ) -> std::ops::RangeInclusive<u64> {
        if let Some(latest) = self.latest.get_mut(from) {
            *latest = match last {
                true => None,
                false => latest.map(|latest| latest.max(t)),
            };
        }
        // Once every source ended, the rest is the summary's, not the progress's.
        let ready = self.latest.iter().flatten().min().copied().unwrap_or(0);
        let show = self.shown + 1..=ready;
        self.shown = self.shown.max(ready);
        show
    }
}
