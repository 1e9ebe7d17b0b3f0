//! Runs N trivial bots and prints the process's peak RSS as JSON; `cargo xtask bench` runs it
//! with N = 0 and N = 1,000,000 and reports the difference per bot.

fn main() {
    let bots: usize = match std::env::args().nth(1).map(|arg| arg.parse()) {
        Some(Ok(bots)) => bots,
        _ => {
            eprintln!("usage: mem_probe <number of bots>");
            std::process::exit(2);
        }
    };
    let results = ttk::run(bots, ttk_benches::trivial);
    assert_eq!(results.len(), bots);
    let peak = ttk_benches::peak_rss_bytes().expect("VmHWM from /proc/self/status");
    println!("{{\"bots\": {bots}, \"peak_rss_bytes\": {peak}}}");
}
