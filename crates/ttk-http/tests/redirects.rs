//! Redirects: off unless asked for, then followed on the same connection up to the limit,
//! with the method and body browsers would use; a loop or another host is a clear error.

mod util;

use std::sync::{Arc, Mutex};

use ttk_http::Request;
use util::{Server, exchange};

/// A server whose paths redirect (`/old` → `/new`, `/see-other` 303 → `/new`, `/keep` 307 →
/// `/new`, `/loop` → `/loop`, `/away` → another host, `/dir/page` → relative ones, ending on
/// another host); every request's method, path and body is recorded.
fn redirecting_server() -> (Server, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let server = Server::start(move |mut peer, _| {
        while let Some((head, body)) = peer.next_request() {
            let line = head.lines().next().unwrap_or_default().to_owned();
            let mut words = line.split(' ');
            let (method, path) = (words.next().unwrap(), words.next().unwrap());
            log.lock().unwrap().push(format!(
                "{method} {path} {}",
                String::from_utf8_lossy(&body)
            ));
            let response = match path {
                "/old" => "HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n",
                "/see-other" => {
                    "HTTP/1.1 303 See Other\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                }
                "/keep" => {
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                }
                "/frag" => "HTTP/1.1 302 Found\r\nLocation: /new#top\r\nContent-Length: 0\r\n\r\n",
                "/abs" => {
                    "HTTP/1.1 301 Moved\r\nLocation: http://Example.test:80/new?x=1\r\nContent-Length: 0\r\n\r\n"
                }
                "/a" => "HTTP/1.1 303 See Other\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n",
                "/b" => {
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                }
                "/loop" => "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
                "/dir/page" => {
                    "HTTP/1.1 302 Found\r\nLocation: next?x=1\r\nContent-Length: 0\r\n\r\n"
                }
                "/dir/next?x=1" => {
                    "HTTP/1.1 302 Found\r\nLocation: ../up/./there/../here\r\nContent-Length: 0\r\n\r\n"
                }
                "/up/here" => "HTTP/1.1 302 Found\r\nLocation: ?q=2\r\nContent-Length: 0\r\n\r\n",
                "/up/here?q=2" => {
                    "HTTP/1.1 302 Found\r\nLocation: //Example.test/net#f\r\nContent-Length: 0\r\n\r\n"
                }
                "/net" => {
                    "HTTP/1.1 302 Found\r\nLocation: //other.test/\r\nContent-Length: 0\r\n\r\n"
                }
                "/away" => {
                    "HTTP/1.1 301 Moved\r\nLocation: http://elsewhere.test/\r\nContent-Length: 0\r\n\r\n"
                }
                _ if method == "HEAD" => "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
                _ => "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew",
            };
            peer.send(response.as_bytes());
        }
    });
    (server, seen)
}

#[test]
fn redirects_are_returned_unless_asked_for() {
    let (server, _) = redirecting_server();
    let (outcomes, _) = exchange(&server.addr, vec![Request::get("/old")]);
    let outcome = outcomes.into_iter().next().unwrap().unwrap();
    assert_eq!(outcome.status, 302);
}

#[test]
fn a_followed_redirect_stays_on_the_connection() {
    let (server, seen) = redirecting_server();
    let requests = vec![Request::get("/old").follow_redirects(3); 2];
    let (outcomes, opened) = exchange(&server.addr, requests);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert_eq!((outcome.status, &outcome.body[..]), (200, &b"new"[..]));
    }
    assert_eq!(opened, 1);
    assert_eq!(
        *seen.lock().unwrap(),
        ["GET /old ", "GET /new ", "GET /old ", "GET /new "]
    );
}

#[test]
fn see_other_continues_as_a_get_and_temporary_keeps_the_post() {
    let (server, seen) = redirecting_server();
    let post = |path: &str| {
        Request::post(path)
            .header("Content-Type", "text/plain")
            .body("score")
            .follow_redirects(1)
    };
    let (outcomes, _) = exchange(&server.addr, vec![post("/see-other"), post("/keep")]);
    assert!(
        outcomes
            .iter()
            .all(|outcome| outcome.as_ref().unwrap().status == 200)
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "POST /see-other score",
            "GET /new ",
            "POST /keep score",
            "POST /new score"
        ]
    );
}

#[test]
fn a_loop_or_another_host_is_an_error_naming_it() {
    let (server, _) = redirecting_server();
    let requests = vec![
        Request::get("/loop").follow_redirects(2),
        Request::get("/away").follow_redirects(2),
    ];
    let (outcomes, _) = exchange(&server.addr, requests);
    let errors: Vec<String> = outcomes
        .into_iter()
        .map(|o| o.unwrap_err().to_string())
        .collect();
    assert_eq!(errors[0], "more than 2 redirects (the last to /loop)");
    assert!(
        errors[1].contains("a redirect to http://elsewhere.test/, off this connection's host"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_fragment_is_not_sent_a_head_stays_a_head_and_the_host_header_counts() {
    let (server, seen) = redirecting_server();
    let requests = vec![
        Request::get("/frag").follow_redirects(1),
        Request::head("/see-other").follow_redirects(1),
        Request::get("/abs")
            .header("Host", "example.test")
            .follow_redirects(1),
    ];
    let (outcomes, opened) = exchange(&server.addr, requests);
    for outcome in outcomes {
        assert_eq!(outcome.unwrap().status, 200);
    }
    assert_eq!(opened, 1);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "GET /frag ",
            "GET /new ",
            "HEAD /see-other ",
            "HEAD /new ",
            "GET /abs ",
            "GET /new?x=1 "
        ]
    );
}

#[test]
fn each_hop_follows_from_the_request_that_was_redirected() {
    let (server, seen) = redirecting_server();
    let post = Request::post("/a").body("score").follow_redirects(2);
    let (outcomes, _) = exchange(&server.addr, vec![post]);
    assert_eq!(outcomes[0].as_ref().unwrap().status, 200);
    // The 303 made a GET; the 307 after it keeps that GET, not the original POST.
    assert_eq!(
        *seen.lock().unwrap(),
        ["POST /a score", "GET /b ", "GET /new "]
    );
}

#[test]
fn relative_locations_resolve_against_the_redirected_path() {
    let (server, seen) = redirecting_server();
    let request = Request::get("/dir/page")
        .header("Host", "example.test")
        .follow_redirects(5);
    let (outcomes, _) = exchange(&server.addr, vec![request]);
    // The fifth hop goes to another host: refused, naming it.
    let error = outcomes[0].as_ref().unwrap_err().to_string();
    assert!(
        error.contains("a redirect to //other.test/, off this connection's host"),
        "{error}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "GET /dir/page ",
            "GET /dir/next?x=1 ",
            "GET /up/here ",
            "GET /up/here?q=2 ",
            "GET /net ",
        ]
    );
}

#[test]
fn after_a_redirect_error_the_next_request_opens_a_new_connection() {
    let (server, _) = redirecting_server();
    let requests = vec![
        Request::get("/loop").follow_redirects(1),
        Request::get("/new"),
        Request::get("/away").follow_redirects(1),
        Request::get("/new"),
    ];
    let (outcomes, opened) = exchange(&server.addr, requests);
    assert!(outcomes[0].is_err() && outcomes[2].is_err(), "{outcomes:?}");
    assert_eq!(outcomes[1].as_ref().unwrap().body, b"new");
    assert_eq!(outcomes[3].as_ref().unwrap().body, b"new");
    assert_eq!((opened, server.accepted()), (3, 3));
}
