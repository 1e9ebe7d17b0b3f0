//! `HttpConnection` against a real nginx on loopback: the test starts its own nginx (see
//! `support/nginx.rs`) and stops it at the end.

mod support;
mod util;

use std::fs;

use std::io;

use support::nginx::Nginx;
use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::{Limits, exchange, exchange_with, pipelined};

/// A static file served with a Content-Length, big enough to take several reads.
const BIG_LEN: usize = 300_000;

/// The config; `{dir}` and `{port}` are filled in.
const HTTP: &str = r#"
    default_type text/plain;
    access_log off;
    keepalive_requests 10000;
    server {
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /hello { return 200 "hello from nginx\n"; }
        location = /moved { return 302 /hello; }
        location = /ssi.html { ssi on; }
    }
"#;

/// The whole config: [`HTTP`] in the common frame.
fn config() -> String {
    support::nginx::config(64, HTTP)
}

/// Starts nginx with [`config`] and the files the cases read.
fn start_nginx() -> Option<Nginx> {
    Nginx::start(&config(), |dir| {
        fs::write(dir.join("www/big.bin"), big_body()).unwrap();
        fs::write(
            dir.join("www/ssi.html"),
            "start <!--# echo var=\"request_method\" --> end\n",
        )
        .unwrap();
    })
}

/// The content of `big.bin`.
fn big_body() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i % 251) as u8).collect()
}

/// All the cases share one nginx (starting it is the slow part).
#[test]
fn against_nginx() {
    let Some(nginx) = start_nginx() else { return };
    keep_alive_serves_many_requests_on_one_connection(&nginx);
    a_large_static_file_arrives_whole(&nginx);
    ssi_output_arrives_chunked(&nginx);
    head_post_redirect_and_not_found(&nginx);
    connection_close_reconnects(&nginx);
    a_body_over_the_limit_is_refused(&nginx);
    pipelined_requests_are_answered_in_order(&nginx);
    a_large_file_is_discarded_or_streamed(&nginx);
}

fn keep_alive_serves_many_requests_on_one_connection(nginx: &Nginx) {
    let (outcomes, opened) = exchange(&nginx.addr, vec![Request::get("/hello"); 200]);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert_eq!(
            (outcome.status, &outcome.body[..]),
            (200, &b"hello from nginx\n"[..])
        );
    }
    assert_eq!(opened, 1);
}

fn a_large_static_file_arrives_whole(nginx: &Nginx) {
    let (outcomes, opened) = exchange(&nginx.addr, vec![Request::get("/big.bin"); 3]);
    for outcome in outcomes {
        assert!(outcome.unwrap().body == big_body());
    }
    assert_eq!(opened, 1);
}

fn ssi_output_arrives_chunked(nginx: &Nginx) {
    let (outcomes, opened) = exchange(&nginx.addr, vec![Request::get("/ssi.html"); 3]);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        let chunked = outcome
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == b"chunked");
        assert!(chunked, "{:?}", outcome.headers);
        assert_eq!(outcome.body, b"start GET end\n");
    }
    assert_eq!(opened, 1);
}

fn head_post_redirect_and_not_found(nginx: &Nginx) {
    let requests = vec![
        Request::head("/big.bin"),
        Request::post("/hello").body(vec![b'x'; 10_000]),
        Request::get("/moved"),
        Request::get("/missing"),
        Request::get("/hello"),
        Request::get("/moved").follow_redirects(1),
    ];
    let (outcomes, opened) = exchange(&nginx.addr, requests);
    let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!((outcomes[0].status, outcomes[0].body.len()), (200, 0));
    let length = outcomes[0]
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.clone());
    assert_eq!(length, Some(BIG_LEN.to_string().into_bytes()));
    assert_eq!(outcomes[1].body, b"hello from nginx\n");
    assert_eq!(outcomes[2].status, 302, "redirects are not followed");
    assert_eq!(outcomes[3].status, 404);
    assert_eq!(outcomes[4].body, b"hello from nginx\n");
    // nginx's Location is absolute (http://127.0.0.1:PORT/hello): the same host, followed.
    assert_eq!(
        (outcomes[5].status, &outcomes[5].body[..]),
        (200, &b"hello from nginx\n"[..])
    );
    assert_eq!(opened, 1);
}

fn connection_close_reconnects(nginx: &Nginx) {
    let closing = Request::get("/hello").header("Connection", "close");
    let (outcomes, opened) = exchange(&nginx.addr, vec![closing, Request::get("/hello")]);
    for outcome in outcomes {
        assert_eq!(outcome.unwrap().status, 200);
    }
    assert_eq!(opened, 2);
}

fn a_body_over_the_limit_is_refused(nginx: &Nginx) {
    let limits = Limits {
        head: None,
        body: Some(1000),
    };
    let (outcomes, _) = exchange_with(&nginx.addr, vec![Request::get("/big.bin")], limits);
    let error = outcomes[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("over the limit of 1000"),
        "{error}"
    );
}

fn pipelined_requests_are_answered_in_order(nginx: &Nginx) {
    let requests = vec![
        Request::get("/hello"),
        Request::get("/ssi.html"),
        Request::head("/big.bin"),
        Request::get("/missing"),
        Request::get("/big.bin"),
        Request::get("/hello"),
    ];
    let (outcomes, opened) = pipelined(&nginx.addr, requests);
    let got: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| {
            let outcome = outcome.unwrap();
            (outcome.status, outcome.body.len())
        })
        .collect();
    let hello = b"hello from nginx\n".len();
    assert_eq!(
        got,
        [
            (200, hello),
            (200, 14),
            (200, 0),
            (404, got[3].1),
            (200, BIG_LEN),
            (200, hello)
        ]
    );
    assert_eq!(opened, 1);
}

/// Gets `/big.bin` with its body discarded, then streamed in pieces of 10,000 bytes, then
/// kept, under a body limit of 1,000 bytes (which only the kept one meets); the discarded
/// body's length, the streamed body, the kept one's error and the connections opened.
#[bot(crate = ttk_core)]
fn discard_stream_keep(
    _cx: Cx,
    _id: usize,
    addr: String,
) -> io::Result<(u64, Vec<u8>, io::ErrorKind, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    http.set_max_body_len(1000);
    let discard = Request::get("/big.bin").discard_body(true);
    let discarded = ttk_core::yield_!(http.send(&discard))?.body_len();
    ttk_core::yield_!(http.send_streaming(&Request::get("/big.bin")))?;
    let (mut streamed, mut piece) = (Vec::new(), vec![0; 10_000]);
    loop {
        match ttk_core::yield_!(http.read_body(&mut piece))? {
            0 => break,
            n => streamed.extend_from_slice(&piece[..n]),
        }
    }
    let opened = http.connections_opened();
    let kept = ttk_core::yield_!(http.send(&Request::get("/big.bin")))
        .unwrap_err()
        .kind();
    Ok((discarded, streamed, kept, opened))
}

fn a_large_file_is_discarded_or_streamed(nginx: &Nginx) {
    let addr = nginx.addr.clone();
    let (discarded, streamed, kept, opened) =
        ttk_core::run(1, move |cx, id| discard_stream_keep(cx, id, addr.clone()))
            .pop()
            .unwrap()
            .unwrap();
    assert_eq!(discarded, BIG_LEN as u64);
    assert!(streamed == big_body(), "{} bytes streamed", streamed.len());
    assert_eq!(kept, io::ErrorKind::InvalidData);
    assert_eq!(opened, 1);
}
