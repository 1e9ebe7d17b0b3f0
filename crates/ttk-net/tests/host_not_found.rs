//! A host name the system cannot resolve is a failure of its own kind, `HostNotFound`, naming
//! the host, rather than std's `Uncategorized`. No resolver is installed in this process (a
//! test binary of its own): the names go to the system, as in a real run.

use std::io;

use ttk_core::Cx;
use ttk_core::metrics::Failure;
use ttk_macros::bot;
use ttk_net::{HOST_NOT_FOUND, TcpStream};

#[bot(crate = ttk_core)]
fn connect_to(_cx: Cx, _id: usize, addr: &'static str) -> io::Error {
    match ttk_core::yield_!(TcpStream::connect(addr)) {
        Ok(_) => panic!("{addr} resolved"),
        Err(error) => error,
    }
}

#[test]
fn an_unresolvable_host_counts_as_host_not_found_and_names_the_host() {
    // `.invalid` never resolves (RFC 2606).
    let error = ttk_core::run(1, |cx, id| connect_to(cx, id, "no-such-host.invalid:80"))
        .pop()
        .unwrap();
    let failure = Failure::of(&error);
    assert_eq!(failure.kind(), HOST_NOT_FOUND);
    assert_eq!(HOST_NOT_FOUND, "HostNotFound");
    assert!(
        failure
            .message()
            .starts_with("cannot resolve the host name `no-such-host.invalid`: "),
        "{}",
        failure.message()
    );
}
