//! Handles belong to their run: a `Cx`, a `BotRng`, a socket or a sleep used in another run
//! fails with a message naming the mistake, and never acts on that run's bots.

use std::cell::RefCell;
use std::rc::Rc;

use ttk::net::{TcpListener, TcpStream};
use ttk::{BotErrorKind, BotRng, Cx};

/// The handles a bot hands out of its run.
type Leaked = (Cx<u8>, BotRng, TcpStream);

/// Hands its context, generator and a connected socket out of the run.
#[ttk::bot]
fn leaker(cx: Cx<u8>, _id: usize, out: Rc<RefCell<Option<Leaked>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = ttk::yield_!(TcpStream::connect(listener.local_addr().unwrap())).unwrap();
    let rng = cx.rng();
    *out.borrow_mut() = Some((cx, rng, stream));
}

/// Returns the failure message of `op` run as a bot of a new run.
fn failure_of(op: impl FnOnce() + 'static) -> String {
    let op = RefCell::new(Some(op));
    let outcomes = ttk::try_run(1, move |_cx: Cx, _| {
        let op = op.borrow_mut().take().unwrap();
        async move { op() }
    });
    match &outcomes[0] {
        Err(error) => match error.kind() {
            BotErrorKind::Panicked(message) => message.clone(),
            kind => panic!("failed otherwise: {kind:?}"),
        },
        Ok(()) => panic!("a handle of another run worked"),
    }
}

/// The handles of a finished run.
fn leaked() -> Leaked {
    let out = Rc::new(RefCell::new(None));
    let cell = Rc::clone(&out);
    ttk::run(1, move |cx, id| leaker(cx, id, Rc::clone(&cell)));
    out.borrow_mut().take().unwrap()
}

#[test]
fn a_cx_of_another_run_fails_with_a_clear_message() {
    let (cx, _, _) = leaked();
    let message = failure_of(move || cx.send(0, 1));
    assert!(
        message.contains("a Cx was used outside the run that made it"),
        "{message}"
    );
}

#[test]
fn a_bot_rng_of_another_run_fails_with_a_clear_message() {
    let (_, rng, _) = leaked();
    let message = failure_of(move || {
        rng.next_u64();
    });
    assert!(
        message.contains("a BotRng was used outside the run that made it"),
        "{message}"
    );
}

#[test]
fn a_socket_of_another_run_fails_with_a_clear_error() {
    let (_, _, stream) = leaked();
    let stream = Rc::new(stream);
    let outcomes = ttk::run(1, move |_cx: Cx, _| {
        let stream = Rc::clone(&stream);
        async move {
            let mut buf = [0; 1];
            stream.read(&mut buf).await.unwrap_err().to_string()
        }
    });
    assert!(
        outcomes[0].contains("a ttk socket (I/O source) was used outside the run that made it"),
        "{}",
        outcomes[0]
    );
}

#[test]
fn a_cx_outside_any_run_names_the_mistake() {
    let (cx, _, _) = leaked();
    let panic = std::panic::catch_unwind(move || cx.id()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("outside the run that made it"),
        "{message}"
    );
}
