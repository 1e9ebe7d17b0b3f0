//! Many quantiles of one histogram in a single pass over its counts: a chart's percentile curve
//! asks for hundreds, and `value_at_quantile` walks the counts from the start for each.

/// The values at `quantiles` (each as `value_at_quantile` gives it: the highest equivalent
/// value of the first bucket whose running count reaches the quantile's share, the lowest for
/// quantile 0), in the order asked; 0s for an empty histogram.
pub(crate) fn values_at_quantiles(
    histogram: &hdrhistogram::Histogram<u64>,
    quantiles: &[f64],
) -> Vec<u64> {
    let mut values = vec![0; quantiles.len()];
    fill(histogram, quantiles, &mut values);
    values
}

/// [`values_at_quantiles`] of a fixed number of quantiles, for a summary's percentiles.
pub(crate) fn quantile_values<const N: usize>(
    histogram: &hdrhistogram::Histogram<u64>,
    quantiles: [f64; N],
) -> [u64; N] {
    let mut values = [0; N];
    fill(histogram, &quantiles, &mut values);
    values
}

/// Puts the value at `quantiles[i]` in `values[i]`.
fn fill(histogram: &hdrhistogram::Histogram<u64>, quantiles: &[f64], values: &mut [u64]) {
    if histogram.is_empty() {
        return;
    }
    let total = histogram.len();
    // The running count each quantile needs, as `value_at_quantile` rounds it.
    let needed = |quantile: f64| ((quantile.min(1.0) * total as f64).ceil() as u64).max(1);
    let mut order: Vec<usize> = (0..quantiles.len()).collect();
    order.sort_by(|&a, &b| quantiles[a].total_cmp(&quantiles[b]));
    let mut pending = order.into_iter().peekable();
    let mut running = 0;
    for recorded in histogram.iter_recorded() {
        running += recorded.count_at_value();
        let top = recorded.value_iterated_to();
        while let Some(&index) = pending.peek() {
            if needed(quantiles[index]) > running {
                break;
            }
            values[index] = match quantiles[index] == 0.0 {
                true => histogram.lowest_equivalent(top),
                false => top,
            };
            pending.next();
        }
        if pending.peek().is_none() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_value_at_quantile() {
        let mut histogram =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for i in 0..20_000u64 {
            histogram
                .record(1 + i.wrapping_mul(0x9E37_79B9) % 2_000_000)
                .unwrap();
        }
        histogram.record(3_000_000_000).unwrap();
        let quantiles = [
            0.99, 0.0, 0.5, 1.0, 0.9, 0.999, 0.99995, 1e-9, 0.25, 0.5, 2.0, 0.75,
        ];
        let values = values_at_quantiles(&histogram, &quantiles);
        for (quantile, value) in quantiles.iter().zip(values) {
            assert_eq!(value, histogram.value_at_quantile(*quantile), "{quantile}");
        }
    }

    #[test]
    fn an_empty_histogram_gives_zeros() {
        let histogram = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        assert_eq!(values_at_quantiles(&histogram, &[0.5, 0.99]), [0, 0]);
        assert_eq!(quantile_values(&histogram, [0.5]), [0]);
    }
}
