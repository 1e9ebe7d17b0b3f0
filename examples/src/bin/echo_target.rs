//! An echo target in its own process: `echo_target [ADDR] [udp]` prints the address it listens
//! on (TCP, or UDP with `udp`) and serves until its standard input closes (so it never outlives
//! whoever started it).

use std::io::Read;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let udp = std::env::args().nth(2).as_deref() == Some("udp");
    let spawned = match udp {
        true => ttk_examples::echo_target::spawn_udp(addr.as_str()),
        false => ttk_examples::echo_target::spawn_tcp(addr.as_str()),
    };
    match spawned {
        Ok(local) => println!("{local}"),
        Err(error) => {
            eprintln!("echo_target: cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    }
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
