//! A bot that a timer wakes every tick must not keep another bot's socket from being read:
//! the loop asks the selector whenever bots are ready, including bots its timers just woke.

mod util;

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::TcpStream;
use util::{echo, spawn_server};

/// Works 10 µs, then sleeps a microsecond, again and again until the reader is done or 5 s
/// pass (so that a starved reader fails the test rather than hang it). With several of them,
/// every tick ends with some of their timers due: some bot is always ready, and the loop never
/// waits. Whether it saw the reader done.
#[bot(crate = ttk_core)]
fn ticker(done: Rc<Cell<bool>>) -> bool {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !done.get() && Instant::now() < give_up {
        let busy_until = Instant::now() + Duration::from_micros(10);
        while Instant::now() < busy_until {
            std::hint::spin_loop();
        }
        ttk_core::yield_!(ttk_core::sleep(Duration::from_micros(1)));
    }
    done.get()
}

/// Exchanges 100 lines with an echo server, then says it is done.
#[bot(crate = ttk_core)]
fn reader(addr: SocketAddr, done: Rc<Cell<bool>>) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut buf = [0; 16];
    for _ in 0..100 {
        ttk_core::yield_!(stream.write_all(b"ping"))?;
        ttk_core::yield_!(stream.read_exact(&mut buf[..4]))?;
    }
    done.set(true);
    Ok(())
}

/// Bots woken by their timers every tick.
const TICKERS: usize = 20;

#[test]
fn a_socket_is_read_while_a_timer_wakes_a_bot_every_tick() {
    let addr = spawn_server(echo);
    let done = Rc::new(Cell::new(false));
    let outcomes = ttk_core::run(TICKERS + 1, move |_cx: Cx, id| {
        let done = Rc::clone(&done);
        async move {
            match id {
                TICKERS => reader(addr, done).await.map(|()| true),
                _ => Ok(ticker(done).await),
            }
        }
    });
    assert!(outcomes[TICKERS].is_ok(), "{:?}", outcomes[TICKERS]);
    let waited_out = outcomes.iter().filter(|o| matches!(o, Ok(false))).count();
    assert_eq!(
        waited_out, 0,
        "tickers gave up before the reader could read"
    );
}
