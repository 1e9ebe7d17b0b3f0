//! Property tests of histogram decoding (the base64 of HdrHistogram's V2 bytes, as a report file
//! holds each histogram): any bytes are read or refused without a panic and without allocating
//! by what a header declares; every histogram reads back as it was written.

mod props;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use ttk_report::{Histogram, PackedHistogram, Report};

#[global_allocator]
static ALLOCATOR: props::Counting = props::Counting;

/// Reading one histogram may cost its counts at the standard bounds (about 188 KB), the counts
/// of the header's range (at most about 450 KB at 3 digits) and its bytes: well under this.
const MOST_PER_HISTOGRAM: usize = 2 << 20;

/// The uncompressed V2 cookie, and others HdrHistogram knows.
const COOKIES: [u32; 4] = [0x1c84_9313, 0x1c84_9314, 0x1c84_9303, 0x1c84_9301];

/// A V2 header: `(cookie, payload length, normalizing offset, digits, lowest, highest, ratio)`.
fn header(
    (cookie, payload_len, offset, digits, low, high, ratio): (u32, u32, u32, u32, u64, u64, f64),
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(40);
    for word in [cookie, payload_len, offset, digits] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(&low.to_be_bytes());
    bytes.extend_from_slice(&high.to_be_bytes());
    bytes.extend_from_slice(&ratio.to_be_bytes());
    bytes
}

/// Edge values, and any.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            1,
            2,
            1_000,
            3_600_000_000,
            1 << 53,
            u64::MAX / 2,
            u64::MAX
        ]),
        any::<u64>(),
    ]
}

fn edgy_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![0, 1, 2, 3, 5, 9, 64, 1 << 20, u32::MAX]),
        any::<u32>(),
    ]
}

/// Histogram bytes as a hostile file would have them: a header whose every field may lie, and
/// a payload of varints (counts, runs of zeros, the one that overflows a negation) or noise.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let header = (
        prop_oneof![prop::sample::select(COOKIES.to_vec()), any::<u32>()],
        edgy_u32(),
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![0u32..=6, any::<u32>()],
        edgy_u64(),
        edgy_u64(),
        prop_oneof![Just(1.0f64), any::<f64>()],
    )
        .prop_map(header);
    let varint = prop_oneof![
        Just(vec![0xff; 9]),
        Just(vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        (0u8..0x80).prop_map(|byte| vec![byte]),
        prop::collection::vec(any::<u8>(), 1..10),
    ];
    let payload = prop::collection::vec(varint, 0..40).prop_map(|parts| parts.concat());
    (header, payload, any::<bool>(), any::<prop::sample::Index>()).prop_map(
        |(mut header, payload, fix_len, cut)| {
            if fix_len {
                header[4..8].copy_from_slice(&(payload.len() as u32).to_be_bytes());
            }
            header.extend_from_slice(&payload);
            // Sometimes cut short, as a torn file would be.
            if cut.index(4) == 0 {
                let at = cut.index(header.len() + 1);
                header.truncate(at);
            }
            header
        },
    )
}

/// A histogram of up to 200 latencies, from 0 to two hours in microseconds.
fn histogram() -> impl Strategy<Value = Histogram> {
    prop::collection::vec(0u64..7_200_000_000, 0..200).prop_map(|micros| {
        let mut histogram = Histogram::new();
        for micros in micros {
            histogram.record(Duration::from_micros(micros));
        }
        histogram
    })
}

proptest! {
    #![proptest_config(props::cases(3_000))]

    #[test]
    fn hostile_bytes_are_read_or_refused_within_bounds(bytes in hostile_bytes()) {
        let text = STANDARD.encode(&bytes);
        let (read, peak) = props::peak_of(|| Histogram::from_base64(&text));
        prop_assert!(peak < MOST_PER_HISTOGRAM, "{peak} bytes for {} bytes", bytes.len());
        if let Ok(histogram) = read {
            // What was read is a histogram like any other: it merges, packs and reads back.
            let mut merged = Histogram::new();
            merged.merge(&histogram);
            prop_assert_eq!(PackedHistogram::pack(&merged).unpack(), histogram);
        }
    }

    #[test]
    fn any_text_is_read_or_refused(text in "[A-Za-z0-9+/=]{0,200}|\\PC{0,100}") {
        let (_, peak) = props::peak_of(|| Histogram::from_base64(&text));
        prop_assert!(peak < MOST_PER_HISTOGRAM);
    }

}

proptest! {
    // Each case writes and reads three histograms of about 188 KB of counts: fewer cases.
    #![proptest_config(props::cases(1_000))]

    #[test]
    fn every_histogram_reads_back_as_written(histogram in histogram()) {
        let back = Histogram::from_base64(&histogram.to_base64()).unwrap();
        prop_assert_eq!(&back, &histogram);
        prop_assert_eq!(PackedHistogram::pack(&histogram).unpack(), histogram);
    }
}

/// A histogram as a report file holds it, in a minimal report of schema 1.
fn report_with_histogram(base64: &str) -> String {
    format!(
        r#"{{"schema": "ttk-report/1", "run": {{"name": "x", "ttk_version": "0", "started_unix_s": 0,
        "duration_s": 1, "end": "completed", "end_detail": null, "processes": 1,
        "parameters": {{"bots": null, "ramp_up": null, "duration": null, "rate": null,
        "iterations": null, "seed": 0, "target": null, "command_line": []}}}},
        "transactions": [{{"name": "t", "ok": 0, "failed": 0, "abandoned": 0, "stopped": 0,
        "histogram": "{base64}", "failed_histogram": "{base64}", "errors": []}}],
        "counters": {{}}, "gauges": {{}}, "bots": {{"started": 0, "finished": 0, "failed": 0,
        "stopped": 0, "errors": []}}, "series": [], "thresholds": []}}"#
    )
}

/// Found by `hostile_bytes_are_read_or_refused_within_bounds`: a header declaring 4 GiB of
/// payload made HdrHistogram allocate (and zero) 4 GiB before reading it.
#[test]
fn a_header_declaring_4_gib_of_counts_is_refused_without_allocating_them() {
    let bytes = header((0x1c84_9313, u32::MAX, 0, 3, 1, 3_600_000_000, 1.0));
    let report = report_with_histogram(&STANDARD.encode(&bytes));
    let (read, peak) = props::peak_of(|| Report::from_json(&report));
    let error = read.unwrap_err().to_string();
    assert!(
        error
            .contains("bad histogram: its header says 4294967295 bytes of counts follow, and 0 do"),
        "{error}"
    );
    assert!(peak < MOST_PER_HISTOGRAM, "{peak}");
}

/// Found by `hostile_bytes_are_read_or_refused_within_bounds`: a run of zeros of `i64::MIN`
/// (the varint `ff` × 9) overflowed HdrHistogram's negation, a panic in a debug build.
#[test]
fn a_run_of_zeros_that_overflows_is_refused() {
    let mut bytes = header((0x1c84_9313, 9, 0, 3, 1, 3_600_000_000, 1.0));
    bytes.extend_from_slice(&[0xff; 9]);
    let error = Histogram::from_base64(&STANDARD.encode(&bytes)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad histogram: a run of zeros longer than any histogram"
    );
}

/// Found by review: 5 significant digits over the whole `u64` range made HdrHistogram allocate
/// about 50 MB of counts for one histogram of a 100-byte file.
#[test]
fn more_digits_than_ttk_records_are_refused_without_allocating() {
    let bytes = header((0x1c84_9313, 0, 0, 5, 1, u64::MAX, 1.0));
    let (read, peak) = props::peak_of(|| Histogram::from_base64(&STANDARD.encode(&bytes)));
    assert_eq!(
        read.unwrap_err().to_string(),
        "bad histogram: 5 significant digits, over the 3 ttk records"
    );
    assert!(peak < MOST_PER_HISTOGRAM, "{peak}");
}
