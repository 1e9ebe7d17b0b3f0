//! Loopback echo round trips: 100 and 1,000 bots on one loop against an echo target on another
//! thread (written on mio, not ttk).

use std::io;
use std::net::SocketAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ttk::Cx;
use ttk::net::TcpStream;

/// Round trips per bot per iteration.
const ROUNDS: u64 = 100;
/// The request: 13 bytes.
const REQUEST: &[u8; 13] = b"hello, world\n";

#[ttk::bot]
fn client(_cx: Cx, _id: usize, target: SocketAddr) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(target))?;
    stream.set_nodelay(true)?;
    let mut response = [0; REQUEST.len()];
    for _ in 0..ROUNDS {
        ttk::yield_!(stream.write_all(REQUEST))?;
        ttk::yield_!(stream.read_exact(&mut response))?;
    }
    Ok(())
}

fn echo(c: &mut Criterion) {
    let target = ttk_examples::echo_target::spawn_tcp("127.0.0.1:0").expect("echo target");
    let mut group = c.benchmark_group("echo_round_trips");
    group.sample_size(10);
    for bots in [100_usize, 1000] {
        group.throughput(Throughput::Elements(bots as u64 * ROUNDS));
        group.bench_function(format!("{bots}_bots"), |b| {
            b.iter(|| {
                for outcome in ttk::run(bots, |cx, id| client(cx, id, target)) {
                    outcome.expect("echo round trips");
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, echo);
criterion_main!(benches);
