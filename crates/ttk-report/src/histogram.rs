//! A latency histogram that serializes losslessly: HDR, 1 µs to 1 h, 3 significant digits, kept
//! in JSON as the base64 of its V2 serialization (the format HdrHistogram's other ports read).

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

/// The lowest latency told apart, in microseconds.
pub const LOWEST_US: u64 = 1;
/// The highest latency recorded, in microseconds (one hour); longer ones count as one hour.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits kept of every value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The precision of the series' histograms ([`PackedHistogram::pack_coarse`]): 2 significant
/// digits, a value known within 1%, enough for a chart over time; the run's totals keep
/// [`SIGNIFICANT_DIGITS`].
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::SERIES_SIGNIFICANT_DIGITS, 2);
/// ```
pub const SERIES_SIGNIFICANT_DIGITS: u8 = 2;

/// Latencies in microseconds (see the module docs for the bounds).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::Histogram;
///
/// let mut a = Histogram::new();
/// a.record(Duration::from_micros(100));
/// let mut b = Histogram::new();
/// b.record(Duration::from_micros(300));
/// a.merge(&b);
/// assert_eq!(a.inner().len(), 2);
/// ```
#[derive(Clone, PartialEq)]
pub struct Histogram(hdrhistogram::Histogram<u64>);

/// A histogram that could not be read back.
///
/// # Examples
/// ```
/// let error = ttk_report::Histogram::from_base64("not base64!").unwrap_err();
/// assert!(error.to_string().starts_with("bad histogram: "));
/// ```
#[derive(Debug)]
pub struct HistogramError(String);

impl fmt::Display for HistogramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad histogram: {}", self.0)
    }
}

impl std::error::Error for HistogramError {}

impl Histogram {
    /// An empty histogram with the standard bounds.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{HIGHEST_US, Histogram};
    ///
    /// let histogram = Histogram::new();
    /// assert!(histogram.inner().is_empty());
    /// assert_eq!(histogram.inner().high(), HIGHEST_US);
    /// ```
    pub fn new() -> Self {
        Histogram(
            hdrhistogram::Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
                .expect("the standard bounds are valid"),
        )
    }

    /// Wraps an HDR histogram made with [`Histogram::new`]'s bounds (as ttk-core records them).
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{HIGHEST_US, Histogram, LOWEST_US, SIGNIFICANT_DIGITS};
    ///
    /// let mut inner = hdrhistogram::Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
    ///     .unwrap();
    /// inner.record(250).unwrap(); // µs
    /// let histogram = Histogram::from_inner(inner);
    /// assert_eq!(histogram.inner().max(), 250);
    /// ```
    pub fn from_inner(inner: hdrhistogram::Histogram<u64>) -> Self {
        Histogram(inner)
    }

    /// The HDR histogram inside.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::Histogram;
    ///
    /// let mut histogram = Histogram::new();
    /// for millis in 1..=100 {
    ///     histogram.record(Duration::from_millis(millis));
    /// }
    /// assert_eq!(histogram.inner().len(), 100);
    /// assert_eq!(histogram.inner().value_at_quantile(0.5), 50_015); // µs, to 3 significant digits
    /// ```
    pub fn inner(&self) -> &hdrhistogram::Histogram<u64> {
        &self.0
    }

    /// Records one latency (below 1 µs counts as 1 µs, above an hour as an hour).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{HIGHEST_US, Histogram};
    ///
    /// let mut histogram = Histogram::new();
    /// histogram.record(Duration::from_nanos(10)); // counts as 1 µs
    /// histogram.record(Duration::from_secs(2 * 3600)); // counts as an hour
    /// assert_eq!(histogram.inner().min(), 1);
    /// assert!(histogram.inner().equivalent(histogram.inner().max(), HIGHEST_US));
    /// ```
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0
            .saturating_record(micros.clamp(LOWEST_US, HIGHEST_US));
    }

    /// Adds every count of `other`: the merge is exact.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::Histogram;
    ///
    /// let mut total = Histogram::new();
    /// for millis in [5, 7, 7] {
    ///     let mut one_process = Histogram::new();
    ///     one_process.record(Duration::from_millis(millis));
    ///     total.merge(&one_process);
    /// }
    /// assert_eq!(total.inner().len(), 3);
    /// assert_eq!(total.inner().count_at(7_000), 2);
    /// ```
    pub fn merge(&mut self, other: &Histogram) {
        self.0
            .add(&other.0)
            .expect("histograms with the standard bounds always merge");
    }

    /// The base64 of the V2 serialization.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::Histogram;
    ///
    /// let mut histogram = Histogram::new();
    /// histogram.record(Duration::from_millis(3));
    /// let text = histogram.to_base64();
    /// assert!(text.is_ascii());
    /// assert_eq!(Histogram::from_base64(&text).unwrap(), histogram);
    /// ```
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut bytes)
            .expect("serializing into memory cannot fail");
        STANDARD.encode(bytes)
    }

    /// Reads what [`Histogram::to_base64`] wrote.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::Histogram;
    ///
    /// let mut histogram = Histogram::new();
    /// histogram.record(Duration::from_micros(420));
    /// let back = Histogram::from_base64(&histogram.to_base64()).unwrap();
    /// assert_eq!(back.inner().max(), 420);
    /// assert!(Histogram::from_base64("not base64!").is_err());
    /// ```
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|error| HistogramError(error.to_string()))?;
        Histogram::from_bytes(&bytes)
    }

    /// Reads a V2 serialization.
    fn from_bytes(bytes: &[u8]) -> Result<Self, HistogramError> {
        Histogram::from_read(Histogram::decode(bytes)?)
    }

    /// The histogram `bytes` hold, as they hold it (its own bounds and precision).
    fn decode(bytes: &[u8]) -> Result<hdrhistogram::Histogram<u64>, HistogramError> {
        // Untrusted bytes: bounded before HdrHistogram sizes anything by them.
        crate::limits::check_histogram_bytes(bytes).map_err(HistogramError)?;
        Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|error| HistogramError(format!("{error:?}")))
    }

    /// `read` in the standard bounds.
    fn from_read(read: hdrhistogram::Histogram<u64>) -> Result<Self, HistogramError> {
        if read.low() == LOWEST_US
            && read.high() == HIGHEST_US
            && read.sigfig() == SIGNIFICANT_DIGITS
        {
            // Already of the standard bounds (as every histogram ttk writes).
            return Ok(Histogram(read));
        }
        // Counts are re-recorded into the standard bounds so that any two histograms merge.
        let mut histogram = Histogram::new();
        histogram
            .0
            .add(&read)
            .map_err(|error| HistogramError(format!("{error:?}")))?;
        Ok(histogram)
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.0.len())
            .field("max_us", &self.0.max())
            .finish()
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Histogram::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// A histogram kept serialized (HdrHistogram's V2 format, a few hundred bytes for a second of
/// traffic) instead of as counts (about 188 KB at these bounds): what a report keeps for each
/// second of each transaction, so that a long run's series stays small. It unpacks into a
/// [`Histogram`] to be read or merged, and is written to JSON like one.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::{Histogram, PackedHistogram};
///
/// let mut histogram = Histogram::new();
/// histogram.record(Duration::from_millis(3));
/// let mut packed = PackedHistogram::pack(&histogram);
/// packed.merge(&PackedHistogram::pack(&histogram));
/// assert_eq!(packed.unpack().inner().len(), 2);
/// assert!(packed.bytes() < 100);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PackedHistogram(Vec<u8>);

impl PackedHistogram {
    /// Packs `histogram`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, PackedHistogram};
    ///
    /// let mut histogram = Histogram::new();
    /// histogram.record(Duration::from_millis(3));
    /// let packed = PackedHistogram::pack(&histogram);
    /// assert_eq!(packed.unpack(), histogram);
    /// ```
    pub fn pack(histogram: &Histogram) -> Self {
        PackedHistogram::pack_inner(&histogram.0)
    }

    /// Packs `histogram` at [`SERIES_SIGNIFICANT_DIGITS`], as the series over time keeps its
    /// entries: every count is kept, each in the 2-digit bucket holding its value (within 1%),
    /// which takes several times fewer bytes than 3 digits for a wide spread of latencies.
    /// Unpacked, it is re-recorded in the standard bounds; packed again, each count falls in
    /// the same bucket, so entries merge exactly however often they are packed.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, PackedHistogram};
    ///
    /// let mut histogram = Histogram::new();
    /// for micros in 1_000..3_000 {
    ///     histogram.record(Duration::from_micros(micros));
    /// }
    /// let coarse = PackedHistogram::pack_coarse(&histogram);
    /// assert!(coarse.bytes() * 4 < PackedHistogram::pack(&histogram).bytes());
    /// let back = coarse.unpack();
    /// assert_eq!(back.inner().len(), 2_000);
    /// assert_eq!(PackedHistogram::pack_coarse(&back), coarse);
    /// // 2,999 µs is counted in the 2-digit bucket from 2,992 µs: it reads as 2,992–2,993.
    /// assert_eq!(back.inner().max(), 2_993);
    /// ```
    pub fn pack_coarse(histogram: &Histogram) -> Self {
        let mut coarse = CoarseHistogram::new();
        coarse.add(histogram);
        coarse.pack()
    }

    /// Its counts at the series' precision, unpacked.
    pub(crate) fn coarse(&self) -> CoarseHistogram {
        let mut coarse = CoarseHistogram::new();
        coarse.add_packed(self);
        coarse
    }

    fn pack_inner(histogram: &hdrhistogram::Histogram<u64>) -> Self {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(histogram, &mut bytes)
            .expect("serializing into memory cannot fail");
        PackedHistogram(bytes)
    }

    /// The histogram, unpacked.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, PackedHistogram};
    ///
    /// let mut histogram = Histogram::new();
    /// histogram.record(Duration::from_micros(700));
    /// let unpacked = PackedHistogram::pack(&histogram).unpack();
    /// assert_eq!(unpacked.inner().max(), 700);
    /// assert!(PackedHistogram::default().unpack().inner().is_empty());
    /// ```
    pub fn unpack(&self) -> Histogram {
        Histogram::from_bytes(&self.0).expect("a packed histogram was made from a valid one")
    }

    /// Adds every count of `other`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, PackedHistogram};
    ///
    /// let (mut a, mut b) = (Histogram::new(), Histogram::new());
    /// a.record(Duration::from_millis(1));
    /// b.record(Duration::from_millis(2));
    /// let mut packed = PackedHistogram::pack(&a);
    /// packed.merge(&PackedHistogram::pack(&b));
    /// a.merge(&b);
    /// assert_eq!(packed.unpack(), a); // the same as merging unpacked
    /// ```
    pub fn merge(&mut self, other: &PackedHistogram) {
        let mut merged = self.unpack();
        merged.merge(&other.unpack());
        *self = PackedHistogram::pack(&merged);
    }

    /// The size of the packed form, in bytes.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, PackedHistogram};
    ///
    /// let mut histogram = Histogram::new();
    /// for micros in 1..=1_000 {
    ///     histogram.record(Duration::from_micros(micros * 37));
    /// }
    /// let packed = PackedHistogram::pack(&histogram);
    /// assert!(PackedHistogram::default().bytes() < packed.bytes());
    /// assert!(packed.bytes() < 4_096); // against about 188 KB of counts
    /// ```
    pub fn bytes(&self) -> usize {
        self.0.len()
    }
}

/// A histogram at the series' precision ([`SERIES_SIGNIFICANT_DIGITS`]), unpacked: 24 KB of
/// counts where a [`Histogram`] has 188 KB, so the series' work (entries joining, figures read)
/// never allocates the large ones an allocator keeps.
#[derive(Clone)]
pub(crate) struct CoarseHistogram(hdrhistogram::Histogram<u64>);

impl CoarseHistogram {
    pub(crate) fn new() -> Self {
        CoarseHistogram(
            hdrhistogram::Histogram::new_with_bounds(
                LOWEST_US,
                HIGHEST_US,
                SERIES_SIGNIFICANT_DIGITS,
            )
            .expect("the series' bounds are valid"),
        )
    }

    /// Adds every count of `histogram`, each in the bucket of its value.
    pub(crate) fn add(&mut self, histogram: &Histogram) {
        self.0
            .add(&histogram.0)
            .expect("a histogram of the standard bounds fits the series' bounds");
    }

    /// Adds every count of `packed`.
    pub(crate) fn add_packed(&mut self, packed: &PackedHistogram) {
        let read = Histogram::decode(&packed.0).expect("a packed histogram is a valid one");
        let coarse = read.low() == LOWEST_US
            && read.high() == HIGHEST_US
            && read.sigfig() == SERIES_SIGNIFICANT_DIGITS;
        match coarse {
            // Of the same bounds and precision: added bucket by bucket.
            true => self.0.add(&read),
            false => self.0.add(&packed.unpack().0),
        }
        .expect("a packed histogram fits the series' bounds");
    }

    pub(crate) fn pack(&self) -> PackedHistogram {
        PackedHistogram::pack_inner(&self.0)
    }

    pub(crate) fn inner(&self) -> &hdrhistogram::Histogram<u64> {
        &self.0
    }
}

impl fmt::Debug for CoarseHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoarseHistogram")
            .field("count", &self.0.len())
            .finish()
    }
}

impl Default for CoarseHistogram {
    fn default() -> Self {
        CoarseHistogram::new()
    }
}

/// An empty histogram at the series' precision, as a series entry holds one.
impl Default for PackedHistogram {
    fn default() -> Self {
        CoarseHistogram::new().pack()
    }
}

impl fmt::Debug for PackedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedHistogram")
            .field("bytes", &self.0.len())
            .finish()
    }
}

impl Serialize for PackedHistogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for PackedHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = STANDARD
            .decode(text)
            .map_err(|error| serde::de::Error::custom(HistogramError(error.to_string())))?;
        let read = Histogram::decode(&bytes).map_err(serde::de::Error::custom)?;
        // Kept at its own precision when it is one ttk writes (3 digits, or the series' 2), so
        // a report reads back as it was written; else re-recorded in the standard bounds.
        let ours = read.low() == LOWEST_US
            && read.high() == HIGHEST_US
            && [SIGNIFICANT_DIGITS, SERIES_SIGNIFICANT_DIGITS].contains(&read.sigfig());
        if ours {
            return Ok(PackedHistogram::pack_inner(&read));
        }
        let histogram = Histogram::from_read(read).map_err(serde::de::Error::custom)?;
        Ok(PackedHistogram::pack(&histogram))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_keeps_every_count() {
        let mut histogram = Histogram::new();
        for micros in [1, 7, 999, 1_000, 54_321, 3_600_000_000] {
            histogram.record(Duration::from_micros(micros));
        }
        histogram.record(Duration::from_secs(7200));
        let back = Histogram::from_base64(&histogram.to_base64()).unwrap();
        assert_eq!(back, histogram);
        assert_eq!(back.inner().len(), 7);
        assert!(Histogram::from_base64("not base64!").is_err());
    }
}
