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
    /// The latest second any source sent.
    latest_heard: u64,
}

impl SecondsShown {
    pub(crate) fn new(sources: usize) -> SecondsShown {
        SecondsShown {
            latest: vec![Some(0); sources],
            shown: 0,
            latest_heard: 0,
        }
    }

    /// Source `from` sent second `t` (its last, if `last`); returns the seconds to show now.
    pub(crate) fn heard(
        &mut self,
        from: usize,
        t: u64,
        last: bool,
    ) -> std::ops::RangeInclusive<u64> {
        self.latest_heard = self.latest_heard.max(t);
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

    /// The seconds heard and not shown, once every source ended (then marked shown): the
    /// last, partial ones. A screen leaves them to the summary; a child of `--processes`
    /// streams them, for they are the middle of its parent's run when it ends before its
    /// siblings.
    pub(crate) fn unshown(&mut self) -> std::ops::RangeInclusive<u64> {
        let show = self.shown + 1..=self.latest_heard;
        self.shown = self.shown.max(self.latest_heard);
        show
    }
}

#[cfg(test)]
mod tests {
    use super::SecondsShown;

    #[test]
    fn a_second_shows_once_every_running_source_sent_it_and_the_rest_once_all_ended() {
        let mut shown = SecondsShown::new(2);
        assert!(shown.heard(0, 1, false).is_empty());
        assert_eq!(shown.heard(1, 1, false), 1..=1);
        assert!(shown.heard(0, 2, false).is_empty());
        // Source 0 ends after its partial third second: the third waits for source 1.
        assert!(shown.heard(0, 3, true).is_empty());
        assert_eq!(shown.heard(1, 3, false), 2..=3);
        assert!(shown.heard(1, 4, true).is_empty());
        assert_eq!(shown.unshown(), 4..=4);
        assert!(shown.unshown().is_empty());
    }
}
