//! The original library's server example: bot 0 listens on a port the OS picks, bot 1 connects,
//! bot 0 accepts and says "hello".
//!
//! ```text
//! process 0: listening on port P
//! process 1: connected on port P
//! process 0: connection from 127.0.0.1:Q
//! process 1: received "hello"
//! ```

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use ttk::Cx;
use ttk::net::{TcpListener, TcpStream};

/// Bot 0 serves; bot 1 is the client. `port` carries the listening port from one to the other.
#[ttk::bot]
fn process(_cx: Cx, id: usize, port: Rc<Cell<u16>>) -> io::Result<()> {
    if id == 0 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        port.set(listener.local_addr()?.port());
        println!("process 0: listening on port {}", port.get());
        let (connection, peer) = ttk::yield_!(listener.accept())?;
        // Let the client report its side of the handshake first, as in the original.
        ttk::yield_!();
        println!("process 0: connection from {peer}");
        ttk::yield_!(connection.write_all(b"hello"))?;
    } else {
        while port.get() == 0 {
            ttk::yield_!();
        }
        let stream = ttk::yield_!(TcpStream::connect(("127.0.0.1", port.get())))?;
        println!(
            "process 1: connected on port {}",
            stream.peer_addr()?.port()
        );
        let mut buf = [0; 5];
        ttk::yield_!(stream.read_exact(&mut buf))?;
        println!("process 1: received \"{}\"", String::from_utf8_lossy(&buf));
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let port = Rc::new(Cell::new(0));
    for outcome in ttk::run(2, |cx, id| process(cx, id, Rc::clone(&port))) {
        outcome?;
    }
    Ok(())
}
