//! One direction of an emulated link: what becomes of each datagram that crosses it — lost,
//! or delivered (once or twice) at a time of the loop's clock.

use std::time::{Duration, Instant};

use super::profile::{NetProfile, Spread};

/// What a lost TCP segment costs: the sender sees the loss only when its retransmission timer
/// runs out (Linux waits 200 ms at the least), and everything after waits for it.
pub(crate) const RETRANSMISSION: Duration = Duration::from_millis(200);

/// The most a capped link holds back: past a second of backlog it drops what comes (a router's
/// queue is not endless; netem's default holds 1,000 packets).
const MOST_BACKLOG: Duration = Duration::from_secs(1);

/// What becomes of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Lost on the way (or dropped by a full queue).
    Lost,
    /// Delivered at `first`, and a second time at `second` if duplicated.
    Delivered {
        first: Instant,
        second: Option<Instant>,
    },
}

/// One direction of a link.
#[derive(Debug)]
pub(crate) struct Link {
    delay_ns: f64,
    jitter_ns: f64,
    spread: Spread,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    /// Bits a second, if capped.
    bits: Option<u64>,
    /// When the link has sent what it holds (capped links only).
    free_at: Option<Instant>,
    /// The random stream's state (SplitMix64).
    rng: u64,
    /// When the last bytes of a stream arrive: a stream's bytes keep their order.
    stream_last: Option<Instant>,
    /// The delay of a link that only delays (no jitter, loss, duplicates, reordering or cap):
    /// every datagram's fate, known without a draw.
    only_delay: Option<Duration>,
}

impl Link {
    /// The direction of `profile` from the bot (`up`) or to it, its randomness from `seed`.
    pub(crate) fn new(profile: &NetProfile, up: bool, seed: u64) -> Link {
        let bits = if up {
            profile.up_bits
        } else {
            profile.down_bits
        };
        let only_delay = (profile.jitter.is_zero()
            && profile.loss == 0.0
            && profile.duplicate == 0.0
            && profile.reorder == 0.0
            && bits.is_none())
        .then_some(profile.delay);
        Link {
            delay_ns: profile.delay.as_nanos() as f64,
            jitter_ns: profile.jitter.as_nanos() as f64,
            spread: profile.spread,
            loss: profile.loss,
            duplicate: profile.duplicate,
            reorder: profile.reorder,
            bits,
            free_at: None,
            rng: seed,
            stream_last: None,
            only_delay,
        }
    }

    /// The delay of a link that only delays (every datagram's fate known without a draw).
    pub(crate) fn only_delay(&self) -> Option<Duration> {
        self.only_delay
    }

    /// Whether datagrams leave the link in the order they entered it (no jitter, no
    /// reordering): then the first of them due is the first that came.
    pub(crate) fn keeps_order(&self) -> bool {
        self.jitter_ns == 0.0 && self.reorder == 0.0
    }

    /// The fate of a datagram of `len` bytes that enters the link at `now`.
    pub(crate) fn fate(&mut self, now: Instant, len: usize) -> Fate {
        if let Some(delay) = self.only_delay {
            return Fate::Delivered {
                first: now + delay,
                second: None,
            };
        }
        if self.loss > 0.0 && self.uniform() < self.loss {
            return Fate::Lost;
        }
        let departs = match self.bits {
            None => now,
            Some(bits) => {
                let start = self.free_at.filter(|free| *free > now).unwrap_or(now);
                if start - now > MOST_BACKLOG {
                    return Fate::Lost;
                }
                let sending = Duration::from_secs_f64(len as f64 * 8.0 / bits as f64);
                self.free_at = Some(start + sending);
                start + sending
            }
        };
        let first = departs + self.delay();
        let second = (self.duplicate > 0.0 && self.uniform() < self.duplicate)
            .then(|| departs + self.delay());
        Fate::Delivered { first, second }
    }

    /// Makes this link's stream arrive no earlier than `before`'s last (a profile changed on a
    /// stream in use keeps its bytes in order).
    pub(crate) fn keep_after(&mut self, before: &Link) {
        self.stream_last = self.stream_last.max(before.stream_last);
        self.free_at = self.free_at.max(before.free_at);
    }

    /// When `len` bytes of a stream that enter the link at `now` arrive: paced by the cap and
    /// delayed, a lost segment [`RETRANSMISSION`] later (TCP sends it again), and never before
    /// the bytes before them (TCP delivers in order; duplicates and reordering do not show).
    pub(crate) fn stream_arrival(&mut self, now: Instant, len: usize) -> Instant {
        let departs = match self.bits {
            None => now,
            Some(bits) => {
                let start = self.free_at.filter(|free| *free > now).unwrap_or(now);
                let sending = Duration::from_secs_f64(len as f64 * 8.0 / bits as f64);
                self.free_at = Some(start + sending);
                start + sending
            }
        };
        let mut arrives = departs + self.jittered();
        if self.loss > 0.0 && self.uniform() < self.loss {
            arrives += RETRANSMISSION;
        }
        let arrives = self.stream_last.map_or(arrives, |last| arrives.max(last));
        self.stream_last = Some(arrives);
        arrives
    }

    /// One datagram's delay: none for a reordered one, else the delay with its jitter.
    fn delay(&mut self) -> Duration {
        if self.reorder > 0.0 && self.uniform() < self.reorder {
            return Duration::ZERO;
        }
        self.jittered()
    }

    /// The delay with its jitter.
    fn jittered(&mut self) -> Duration {
        if self.jitter_ns == 0.0 {
            return Duration::from_nanos(self.delay_ns as u64);
        }
        let nanos = match self.spread {
            Spread::Uniform => self.delay_ns + self.jitter_ns * (2.0 * self.uniform() - 1.0),
            Spread::Normal => {
                // Box-Muller: one normal draw from two uniform ones.
                let (u1, u2) = (1.0 - self.uniform(), self.uniform());
                let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                self.delay_ns + self.jitter_ns * normal
            }
        };
        Duration::from_nanos(nanos.max(0.0) as u64)
    }

    /// A uniform draw in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(settings: &str) -> Link {
        Link::new(&settings.parse().unwrap(), true, 42)
    }

    fn delays(link: &mut Link, count: usize) -> Vec<f64> {
        let now = Instant::now();
        let mut delays: Vec<f64> = (0..count)
            .filter_map(|_| match link.fate(now, 100) {
                Fate::Delivered { first, .. } => Some((first - now).as_secs_f64() * 1e3),
                Fate::Lost => None,
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        delays
    }

    #[test]
    fn uniform_jitter_spreads_evenly_and_normal_jitter_as_a_bell() {
        let uniform = delays(&mut link("delay=80ms±20ms"), 100_000);
        let (p50, p99) = (uniform[50_000], uniform[99_000]);
        assert!((p50 - 80.0).abs() < 0.5, "p50 {p50}");
        // Uniform over 60..100 ms: p99 at 99.6 ms.
        assert!((p99 - 99.6).abs() < 0.5, "p99 {p99}");
        assert!(uniform[0] >= 60.0 && uniform[99_999] <= 100.0);
        let normal = delays(&mut link("delay=80ms±10ms dist=normal"), 100_000);
        // A normal law's p99 is 2.326 deviations above its mean.
        assert!(
            (normal[99_000] - 103.26).abs() < 0.5,
            "p99 {}",
            normal[99_000]
        );
    }

    #[test]
    fn losses_duplicates_and_reorders_come_at_their_rates() {
        let mut lossy = link("loss=2% dup=1% delay=10ms reorder=5%");
        let now = Instant::now();
        let (mut lost, mut twice, mut early) = (0, 0, 0);
        for _ in 0..100_000 {
            match lossy.fate(now, 100) {
                Fate::Lost => lost += 1,
                Fate::Delivered { first, second } => {
                    twice += usize::from(second.is_some());
                    early += usize::from(first == now);
                }
            }
        }
        assert!((1_800..2_200).contains(&lost), "{lost}");
        assert!((850..1_150).contains(&twice), "{twice}");
        assert!((4_500..5_500).contains(&early), "{early}");
    }

    #[test]
    fn a_capped_link_paces_and_drops_past_a_second_of_backlog() {
        // 1 Mbit/s: a 1,250-byte datagram takes 10 ms to send.
        let mut slow = link("rate=1mbit");
        let now = Instant::now();
        let times: Vec<Fate> = (0..3).map(|_| slow.fate(now, 1_250)).collect();
        for (k, fate) in times.iter().enumerate() {
            let expected = now + Duration::from_millis(10 * (k as u64 + 1));
            assert_eq!(
                *fate,
                Fate::Delivered {
                    first: expected,
                    second: None
                }
            );
        }
        let fates: Vec<Fate> = (0..200).map(|_| slow.fate(now, 1_250)).collect();
        assert!(
            fates.contains(&Fate::Lost),
            "a second of backlog is the most"
        );
    }

    #[test]
    fn a_streams_bytes_keep_their_order_and_a_loss_costs_a_retransmission() {
        let mut jittery = link("delay=20ms±15ms");
        let now = Instant::now();
        let mut last = now;
        for k in 0..1_000 {
            let at = jittery.stream_arrival(now + Duration::from_micros(k), 100);
            assert!(at >= last);
            last = at;
        }
        let mut lossy = link("loss=100% delay=10ms");
        let at = lossy.stream_arrival(now, 100);
        assert_eq!(at - now, Duration::from_millis(10) + RETRANSMISSION);
    }

    #[test]
    fn a_link_that_only_delays_delivers_each_datagram_once_after_its_delay() {
        let mut plain = link("delay=25ms");
        let now = Instant::now();
        for k in 0..1_000u64 {
            let sent = now + Duration::from_micros(k);
            assert_eq!(
                plain.fate(sent, 100),
                Fate::Delivered {
                    first: sent + Duration::from_millis(25),
                    second: None
                }
            );
        }
    }

    #[test]
    fn one_seed_one_stream() {
        let mut a = link("loss=50% delay=5ms±5ms");
        let mut b = link("loss=50% delay=5ms±5ms");
        let now = Instant::now();
        for _ in 0..1_000 {
            assert_eq!(a.fate(now, 10), b.fate(now, 10));
        }
    }
}
