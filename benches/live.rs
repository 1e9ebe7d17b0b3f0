//! What a reader of a run costs the run: `/metrics` (Prometheus' text) and the live page
//! rendered from a report of 100 transactions, as the live view renders them once per change.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ttk_report::{Report, TransactionReport};

/// Transactions in the report read.
const TRANSACTIONS: usize = 100;
/// Successes recorded per transaction.
const SAMPLES: u64 = 10_000;

/// A report of `transactions` transactions, each with latencies spread from 100 µs to `spread`
/// (the HDR histogram's buckets used over that span), some failures of two kinds.
fn report(transactions: usize, spread: Duration) -> Report {
    let mut report = Report::new("live bench");
    report.run.run_id = "live-bench-1".to_owned();
    let span = spread.as_nanos() as u64;
    for index in 0..transactions {
        let mut transaction = TransactionReport::new(&format!("transaction {index}"));
        for sample in 0..SAMPLES {
            let nanos = 100_000 + sample.wrapping_mul(0x9E37_79B9) % span;
            transaction.record_ok(Duration::from_nanos(nanos));
        }
        report.transactions.push(transaction);
    }
    report
}

fn live(c: &mut Criterion) {
    let mut group = c.benchmark_group("live");
    for (name, spread) in [
        ("metrics_100_transactions_10ms", Duration::from_millis(10)),
        ("metrics_100_transactions_2s", Duration::from_secs(2)),
    ] {
        let report = report(TRANSACTIONS, spread);
        group.bench_function(name, |b| b.iter(|| black_box(&report).to_prometheus(100)));
    }
    let report = report(TRANSACTIONS, Duration::from_secs(2));
    group.sample_size(10);
    group.bench_function("page_100_transactions_2s", |b| {
        b.iter(|| black_box(&report).html_main())
    });
    group.finish();
}

criterion_group!(benches, live);
criterion_main!(benches);
