//! Latency counts recorded on the hot path, in exactly the buckets of an HDR histogram of 1 µs
//! to 1 h at 3 significant digits, and turned into one when the interval closes.
//!
//! `hdrhistogram`'s own `record` checks for resizing, overflow and a changed minimum on every
//! sample (about fifty instructions); the bots' hot path only needs the bucket's index and an
//! increment. The layout is HDR's, so the conversion is exact (a test checks it against
//! recording into the histogram directly).

use hdrhistogram::Histogram;

use super::snapshot::{HIGHEST_MICROS, LOWEST_MICROS};

/// Sub-buckets in each half-bucket: 2^10 ≥ 10^3, for 3 significant digits.
const HALF_MAGNITUDE: u32 = 10;
/// `2 × HALF_COUNT − 1`: values below it have a bucket each.
const SUB_BUCKET_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;

/// The index of `micros` (already clamped to the bounds) in the counts.
#[inline]
fn index_of(micros: u64) -> usize {
    let magnitude = 64 - (micros | SUB_BUCKET_MASK).leading_zeros();
    let bucket = magnitude - (HALF_MAGNITUDE + 1);
    let sub_bucket = (micros >> bucket) as usize;
    ((bucket as usize) << HALF_MAGNITUDE) + sub_bucket
}

/// The lowest value of the bucket at `index`: recording it counts in that same bucket.
fn value_at(index: usize) -> u64 {
    let bucket = (index >> HALF_MAGNITUDE).saturating_sub(1);
    let sub_bucket = index - (bucket << HALF_MAGNITUDE);
    (sub_bucket as u64) << bucket
}

/// Counts per HDR bucket.
pub(crate) struct LatencyCounts {
    counts: Box<[u64]>,
    total: u64,
}

impl LatencyCounts {
    pub(crate) fn new() -> Self {
        LatencyCounts {
            counts: vec![0; index_of(HIGHEST_MICROS) + 1].into_boxed_slice(),
            total: 0,
        }
    }

    /// Counts one latency in microseconds (clamped to the bounds).
    #[inline]
    pub(crate) fn record(&mut self, micros: u64) {
        let index = index_of(micros.clamp(LOWEST_MICROS, HIGHEST_MICROS));
        // The index of a clamped value is within the counts (sized for the highest).
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
        }
        self.total += 1;
    }

    /// Latencies counted.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    /// Moves the counts into `histogram` (with the standard bounds) and clears them.
    pub(crate) fn drain_into(&mut self, histogram: &mut Histogram<u64>) {
        if self.total == 0 {
            return;
        }
        for (index, count) in self.counts.iter_mut().enumerate() {
            if *count > 0 {
                histogram
                    .record_n(value_at(index), *count)
                    .expect("a bucket's value is within the bounds");
                *count = 0;
            }
        }
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::latency_histogram;

    #[test]
    fn counts_land_in_the_buckets_hdr_uses() {
        let mut counts = LatencyCounts::new();
        let mut direct = latency_histogram();
        let mut value: u64 = 1;
        let mut seed: u64 = 7;
        let mut samples = Vec::new();
        // Every value up to 5,000, each power of two and its neighbours, random values.
        samples.extend(1..5_000);
        for shift in 0..32 {
            samples.extend([(1 << shift) - 1, 1 << shift, (1 << shift) + 1]);
        }
        for _ in 0..200_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            samples.push(seed >> (seed >> 58));
        }
        samples.extend([
            HIGHEST_MICROS - 1,
            HIGHEST_MICROS,
            HIGHEST_MICROS + 1,
            u64::MAX,
            0,
        ]);
        while value < HIGHEST_MICROS {
            samples.push(value);
            value = value * 3 / 2 + 1;
        }
        for &sample in &samples {
            counts.record(sample);
            direct.saturating_record(sample.clamp(LOWEST_MICROS, HIGHEST_MICROS));
        }
        let mut converted = latency_histogram();
        counts.drain_into(&mut converted);
        assert_eq!(converted.len(), samples.len() as u64);
        for (a, b) in converted.iter_recorded().zip(direct.iter_recorded()) {
            assert_eq!(
                (a.value_iterated_to(), a.count_at_value()),
                (b.value_iterated_to(), b.count_at_value())
            );
        }
        assert_eq!(converted, direct);
        assert_eq!(counts.len(), 0);
    }
}
