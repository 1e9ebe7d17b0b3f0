//! Think time: how long a bot pauses between actions, as a player would.

use std::time::Duration;

use crate::cx::Cx;
use crate::rng::BotRng;
use crate::time::{Sleep, sleep};

/// A distribution of think times: the pauses a bot makes between actions, as a player reading
/// the screen or choosing a move would.
///
/// Real users do not act in lockstep. Bots that start together and pause a constant time stay
/// together: the server sees waves of requests no real audience makes. Random pauses spread
/// them out. [`sample`](ThinkTime::sample) draws from the bot's own
/// generator ([`Cx::rng`]), so a run with the same [`seed`](crate::Runtime::seed) pauses
/// exactly as long again; [`Cx::think`] draws and sleeps in one step.
///
/// - [`constant`](ThinkTime::constant): always the same pause;
/// - [`uniform`](ThinkTime::uniform): any pause between two bounds, equally likely;
/// - [`exponential`](ThinkTime::exponential): a memoryless pause of a given mean — bots whose
///   actions then arrive as a Poisson process, the usual model of independent users — capped
///   at [`EXPONENTIAL_CAP`](ThinkTime::EXPONENTIAL_CAP) means.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime, ThinkTime};
///
/// #[bot(crate = ttk_core)]
/// fn player(cx: Cx, _id: usize) -> Duration {
///     let start = ttk_core::now();
///     let pause = ThinkTime::uniform(Duration::from_millis(100), Duration::from_millis(500));
///     for _ in 0..3 {
///         // ... act ...
///         ttk_core::yield_!(cx.think(pause));
///     }
///     ttk_core::now() - start
/// }
///
/// let took = Runtime::new().virtual_time(true).seed(1).run(2, player);
/// assert!(took.iter().all(|t| *t >= Duration::from_millis(300) && *t <= Duration::from_millis(1500)));
/// assert_ne!(took[0], took[1], "each bot draws its own pauses");
/// assert_eq!(took, Runtime::new().virtual_time(true).seed(1).run(2, player));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThinkTime {
    /// The distribution.
    kind: Kind,
}

/// The distributions of [`ThinkTime`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Always this long.
    Constant(Duration),
    /// Between the bounds (both included), equally likely.
    Uniform {
        /// The shortest pause.
        min: Duration,
        /// The longest pause.
        max: Duration,
    },
    /// Exponential with this mean, capped at [`EXPONENTIAL_CAP`](ThinkTime::EXPONENTIAL_CAP) means.
    Exponential(Duration),
}

impl ThinkTime {
    /// How much longer than its mean an exponential think time may be: samples are capped at
    /// this many means, so one unlucky draw cannot park a bot for hours. The cap takes
    /// e<sup>-10</sup> ≈ 0.005 % off the mean.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn longest(cx: Cx, _id: usize) -> Duration {
    ///     let think = ThinkTime::exponential(Duration::from_millis(100));
    ///     let rng = cx.rng();
    ///     (0..10_000).map(|_| think.sample(&rng)).max().unwrap()
    /// }
    ///
    /// let cap = Duration::from_millis(100) * ThinkTime::EXPONENTIAL_CAP;
    /// assert!(ttk_core::run(1, longest)[0] <= cap);
    /// ```
    pub const EXPONENTIAL_CAP: u32 = 10;

    /// Always `pause`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn steady(cx: Cx, _id: usize) -> Duration {
    ///     ThinkTime::constant(Duration::from_millis(250)).sample(&cx.rng())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, steady), [Duration::from_millis(250)]);
    /// ```
    pub const fn constant(pause: Duration) -> ThinkTime {
        ThinkTime {
            kind: Kind::Constant(pause),
        }
    }

    /// Any pause from `min` to `max` (both included, to the nanosecond), equally likely; the
    /// mean is halfway.
    ///
    /// # Panics
    /// If `max` is shorter than `min`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn browse(cx: Cx, _id: usize) -> Duration {
    ///     ThinkTime::uniform(Duration::from_secs(1), Duration::from_secs(3)).sample(&cx.rng())
    /// }
    ///
    /// let pause = ttk_core::run(1, browse)[0];
    /// assert!(pause >= Duration::from_secs(1) && pause <= Duration::from_secs(3));
    /// ```
    pub const fn uniform(min: Duration, max: Duration) -> ThinkTime {
        assert!(
            min.as_nanos() <= max.as_nanos(),
            "ThinkTime::uniform: max is shorter than min"
        );
        ThinkTime {
            kind: Kind::Uniform { min, max },
        }
    }

    /// Exponential pauses of mean `mean`, capped at [`EXPONENTIAL_CAP`](ThinkTime::EXPONENTIAL_CAP) × `mean`: short pauses
    /// are common, long ones rare, and one pause tells nothing of the next.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn idle(cx: Cx, _id: usize) -> Duration {
    ///     ThinkTime::exponential(Duration::from_millis(200)).sample(&cx.rng())
    /// }
    ///
    /// assert!(ttk_core::run(1, idle)[0] <= Duration::from_secs(2), "capped at 10 means");
    /// ```
    pub const fn exponential(mean: Duration) -> ThinkTime {
        ThinkTime {
            kind: Kind::Exponential(mean),
        }
    }

    /// The mean pause (for an exponential one, that of the capped distribution: a hair under
    /// its nominal mean).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_core::ThinkTime;
    ///
    /// let pause = ThinkTime::uniform(Duration::from_millis(100), Duration::from_millis(500));
    /// assert_eq!(pause.mean(), Duration::from_millis(300));
    /// ```
    pub fn mean(&self) -> Duration {
        match self.kind {
            Kind::Constant(pause) => pause,
            Kind::Uniform { min, max } => min + (max - min) / 2,
            // E[min(X, c·m)] = m·(1 − e^(−c)) for X exponential of mean m.
            Kind::Exponential(mean) => {
                scaled(mean, 1.0 - (-f64::from(ThinkTime::EXPONENTIAL_CAP)).exp())
            }
        }
    }

    /// One pause, drawn from `rng` (a constant draws nothing).
    ///
    /// # Panics
    /// If `rng` is used outside its bot's run (see [`BotRng`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn draws(cx: Cx, _id: usize) -> Vec<Duration> {
    ///     let pause = ThinkTime::exponential(Duration::from_millis(50));
    ///     (0..4).map(|_| pause.sample(&cx.rng())).collect()
    /// }
    ///
    /// // The same seed, the same pauses.
    /// assert_eq!(Runtime::new().seed(3).run(2, draws), Runtime::new().seed(3).run(2, draws));
    /// ```
    pub fn sample(&self, rng: &BotRng) -> Duration {
        match self.kind {
            Kind::Constant(pause) => pause,
            Kind::Uniform { min, max } => {
                let span = u64::try_from((max - min).as_nanos()).unwrap_or(u64::MAX);
                let offset = match span.checked_add(1) {
                    Some(choices) => rng.below(choices),
                    None => rng.next_u64(),
                };
                min.saturating_add(Duration::from_nanos(offset))
            }
            Kind::Exponential(mean) => {
                // Inverse transform: -ln(U) for U uniform in (0, 1] is exponential of mean 1.
                let uniform = 1.0 - rng.f64();
                let means = (-uniform.ln()).min(f64::from(ThinkTime::EXPONENTIAL_CAP));
                scaled(mean, means)
            }
        }
    }
}

/// `duration` × `factor` (≥ 0), saturating at [`Duration::MAX`].
fn scaled(duration: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// # Think time
impl<M, W> Cx<M, W> {
    /// A pause drawn from `think` with this bot's generator: `yield_!(cx.think(pause))`
    /// sleeps that long (on the loop's clock, so under virtual time it takes no wall time).
    /// The pause is drawn now, so the same seed gives the same pauses.
    ///
    /// # Panics
    /// Outside the bot's run.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime, ThinkTime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn reader(cx: Cx, _id: usize) -> Duration {
    ///     let start = ttk_core::now();
    ///     ttk_core::yield_!(cx.think(ThinkTime::exponential(Duration::from_secs(2))));
    ///     ttk_core::now() - start
    /// }
    ///
    /// let pauses = Runtime::new().virtual_time(true).run(3, reader);
    /// assert!(pauses.iter().all(|p| *p <= Duration::from_secs(20)));
    /// ```
    pub fn think(&self, think: ThinkTime) -> Sleep {
        sleep(think.sample(&self.rng()))
    }
}
