//! The bounds on what a report file may say. A report is read from a file anyone may have
//! written: every field that says how much of something there is (shards, seconds, histogram
//! slots and payloads) is checked against these before anything is sized by it, so a hostile
//! or corrupt file is a clear error, never a huge allocation, an overflow or a panic.
//!
//! What the text of a file holds (strings, lists, maps) costs memory in proportion to the
//! file, which its reader chose to read; only what a field *declares* needs a bound here.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

use crate::histogram::SIGNIFICANT_DIGITS;
use crate::model::{ErrorTally, Report, SecondReport, ShardSet, TransactionReport};

/// The most shards a run may be cut in (`--shard I/N`, `N` at most this). A merge lists every
/// shard it holds or misses, so the count sizes lists: far more processes than any run uses,
/// few enough that those lists stay small.
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::MAX_SHARDS, 65_536);
/// ```
pub const MAX_SHARDS: u32 = 65_536;

/// The latest second a report's series may have (`t`), and the longest second entry
/// (`length_s`): ten years of seconds. Seconds are shifted and plotted by `t`; a bound keeps
/// that arithmetic from overflowing.
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::MAX_SERIES_SECONDS, 10 * 366 * 86_400);
/// ```
pub const MAX_SERIES_SECONDS: u64 = 10 * 366 * 86_400;

/// The most transactions a report may have. Each holds two histograms of about 188 KB in
/// memory, however few bytes its file takes: this bounds what a report read costs (about
/// 1.5 GB at most), far above the few dozen names a load test uses.
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::MAX_TRANSACTIONS, 4_096);
/// ```
pub const MAX_TRANSACTIONS: usize = 4_096;

/// HdrHistogram's V2 cookie (uncompressed, 8-byte counts): the only encoding ttk writes.
const V2_COOKIE: u32 = 0x1c84_9313;

/// The V2 header: cookie, payload length, normalizing offset, significant digits (4 bytes
/// each), lowest and highest trackable values and the integer-to-double ratio (8 bytes each).
const V2_HEADER_LEN: usize = 40;

/// Reads a report's transactions, refusing more than [`MAX_TRANSACTIONS`] while they are read:
/// after the read would be too late, their histograms would be in memory.
pub(crate) fn bounded_transactions<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<TransactionReport>, D::Error> {
    /// Takes the list's elements one by one, up to the limit.
    struct Bounded;

    impl<'de> Visitor<'de> for Bounded {
        type Value = Vec<TransactionReport>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {MAX_TRANSACTIONS} transactions")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut transactions = Vec::new();
            while let Some(transaction) = seq.next_element()? {
                if transactions.len() == MAX_TRANSACTIONS {
                    return Err(de::Error::custom(format_args!(
                        "more than {MAX_TRANSACTIONS} transactions, the limit"
                    )));
                }
                transactions.push(transaction);
            }
            Ok(transactions)
        }
    }

    deserializer.deserialize_seq(Bounded)
}

/// Checks every bounded field of a report just read; the first out of bounds, as a sentence.
pub(crate) fn check_report(report: &Report) -> Result<(), String> {
    if let Some(shard) = &report.run.shard {
        check_shard_count(shard.count, "run.shard.count")?;
        if shard.index >= shard.count {
            return Err(format!(
                "run.shard is shard {} of {}: shards are numbered from 0 to {}",
                shard.index,
                shard.count,
                shard.count - 1
            ));
        }
    }
    if let Some(set) = &report.run.shards {
        check_shard_set(set)?;
    }
    if report.run.changes.len() > MAX_CHANGES {
        return Err(format!(
            "run.changes holds {} changes, more than the {MAX_CHANGES} a run records",
            report.run.changes.len()
        ));
    }
    for (index, change) in report.run.changes.iter().enumerate() {
        if !change.t_s.is_finite() || change.t_s < 0.0 || change.what.len() > MAX_CHANGE_TEXT {
            return Err(format!(
                "run.changes[{index}] is out of bounds: a time of 0 s or more, and at most \
                 {MAX_CHANGE_TEXT} bytes of text"
            ));
        }
    }
    for (index, second) in report.series.iter().enumerate() {
        check_second(second, index)?;
        // In order, each second once: merges search them, and charts draw them, by `t`.
        if index > 0 && report.series[index - 1].t >= second.t {
            return Err(format!(
                "series[{index}].t is {}, not after series[{}].t ({}): the seconds must be in order",
                second.t,
                index - 1,
                report.series[index - 1].t
            ));
        }
    }
    for transaction in &report.transactions {
        let name = &transaction.name;
        check_tallies(&transaction.errors, &format!("transaction {name:?}"))?;
    }
    check_tallies(&report.bots.errors, "bots")
}

/// The most load changes a report holds: a run records at most this many (see the harness).
pub const MAX_CHANGES: usize = 1_000;

/// The longest text of a load change, in bytes.
const MAX_CHANGE_TEXT: usize = 200;

/// Refuses a shard count of 0 or over [`MAX_SHARDS`]; `field` names it in the message.
pub(crate) fn check_shard_count(count: u32, field: &str) -> Result<(), String> {
    if count == 0 {
        return Err(format!("{field} is 0: a run is cut in 1 shard or more"));
    }
    if count > MAX_SHARDS {
        return Err(format!(
            "{field} is {count}, over the limit of {MAX_SHARDS} shards"
        ));
    }
    Ok(())
}

/// A merge's shards: a count in bounds, and every shard of it either merged or missing, once,
/// in increasing order.
fn check_shard_set(set: &ShardSet) -> Result<(), String> {
    check_shard_count(set.count, "run.shards.count")?;
    for (field, list) in [("merged", &set.merged), ("missing", &set.missing)] {
        if let Some(&shard) = list.iter().find(|&&shard| shard >= set.count) {
            return Err(format!(
                "run.shards.{field} holds shard {shard} of {}, which does not exist",
                set.count
            ));
        }
        if list.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(format!(
                "run.shards.{field} is not in increasing order, each shard once"
            ));
        }
    }
    if set.merged.len() + set.missing.len() != set.count as usize
        || set.merged.iter().any(|shard| set.missing.contains(shard))
    {
        return Err(format!(
            "run.shards does not list each of its {} shards once, as merged or missing",
            set.count
        ));
    }
    Ok(())
}

/// One second of the series (the `index`th): its time and length in bounds.
fn check_second(second: &SecondReport, index: usize) -> Result<(), String> {
    if second.t > MAX_SERIES_SECONDS {
        return Err(format!(
            "series[{index}].t is {}, over the limit of {MAX_SERIES_SECONDS} seconds",
            second.t
        ));
    }
    if !(0.0..=MAX_SERIES_SECONDS as f64).contains(&second.length_s) {
        return Err(format!(
            "series[{index}].length_s is {}, not between 0 and {MAX_SERIES_SECONDS} seconds",
            second.length_s
        ));
    }
    Ok(())
}

/// Error tallies keep at most [`ErrorTally::MAX_SAMPLES`] samples each.
fn check_tallies(tallies: &[ErrorTally], whose: &str) -> Result<(), String> {
    match tallies
        .iter()
        .find(|tally| tally.samples.len() > ErrorTally::MAX_SAMPLES)
    {
        Some(tally) => Err(format!(
            "the {whose} error tally {:?} has {} samples, over the limit of {}",
            tally.kind,
            tally.samples.len(),
            ErrorTally::MAX_SAMPLES
        )),
        None => Ok(()),
    }
}

/// Checks a V2 histogram's bytes before HdrHistogram reads them: HdrHistogram sizes its
/// payload buffer by the header's payload length (up to 4 GiB, before reading it), its counts
/// by the header's digits and range, and negates the payload's run lengths (one of which
/// overflows). So: the uncompressed V2 cookie, a payload no longer than the bytes there, at
/// most [`SIGNIFICANT_DIGITS`] digits (the counts then take at most about 450 KB whatever the
/// range), and no run length that cannot be negated.
pub(crate) fn check_histogram_bytes(bytes: &[u8]) -> Result<(), String> {
    let Some((header, payload)) = bytes.split_first_chunk::<V2_HEADER_LEN>() else {
        return Err(format!(
            "{} bytes, shorter than a histogram's header ({V2_HEADER_LEN} bytes)",
            bytes.len()
        ));
    };
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let cookie = word(0);
    if cookie != V2_COOKIE {
        return Err(format!(
            "cookie {cookie:#010x}; ttk reads uncompressed V2 histograms ({V2_COOKIE:#010x})"
        ));
    }
    let payload_len = word(4) as usize;
    if payload_len > payload.len() {
        return Err(format!(
            "its header says {payload_len} bytes of counts follow, and {} do",
            payload.len()
        ));
    }
    let digits = word(12);
    if digits > u32::from(SIGNIFICANT_DIGITS) {
        return Err(format!(
            "{digits} significant digits, over the {SIGNIFICANT_DIGITS} ttk records"
        ));
    }
    check_payload(&payload[..payload_len])
}

/// Walks the payload's variable-length numbers (LEB128, nine bytes at most, the ninth of eight
/// bits): each is a zig-zag count or negated run of zeros, and the one that decodes to
/// `i64::MIN` has no negation.
fn check_payload(mut payload: &[u8]) -> Result<(), String> {
    while !payload.is_empty() {
        let mut value: u64 = 0;
        let mut used = 0;
        for (i, &byte) in payload.iter().take(9).enumerate() {
            used = i + 1;
            if i == 8 {
                value |= u64::from(byte) << 56;
                break;
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                break;
            }
        }
        if value == u64::MAX {
            return Err("a run of zeros longer than any histogram".to_owned());
        }
        payload = &payload[used..];
    }
    Ok(())
}
