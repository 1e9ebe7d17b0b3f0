//! The `ttk` binary as a user runs it: each subcommand against a real server on loopback (the
//! built-in demo target, a line server and a datagram server on threads of this test), and bad
//! input meeting a clear message and exit code 2.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ttk_cli::DemoTarget;
use ttk_report::Report;

mod support;
use support::{scratch, stderr, stdout, ttk};

#[test]
fn bad_flags_and_urls_get_a_message_and_exit_2() {
    let cases: [(&[&str], &str); 17] = [
        (&["tcp", "127.0.0.1", "--send", "PING"], "has no port"),
        (
            &["udp", "127.0.0.1:9", "--send", "x", "--send-hex", "00"],
            "cannot be used with",
        ),
        (
            &["udp", "127.0.0.1:9", "--send-hex", "0g"],
            "`g` is not a hexadecimal digit",
        ),
        (&["udp", "127.0.0.1:9", "--expect", "x"], "--send"),
        (&["udp", "127.0.0.1:0", "--send", "ping"], "port `0`"),
        (
            &["http", "127.0.0.1:80/"],
            "has no scheme; write http://127.0.0.1:80/",
        ),
        (
            &["http", "https://127.0.0.1/", "--cacert", "/no/such/ca.pem"],
            "cannot read the CA certificate file /no/such/ca.pem",
        ),
        (
            &["http", "https://127.0.0.1/", "--tls-resume", "maybe"],
            "write on or off",
        ),
        (
            &[
                "tcp",
                "127.0.0.1:1",
                "--tls",
                "--send",
                "x",
                "--cert",
                "c.pem",
            ],
            "--key",
        ),
        (&["http", "http://127.0.0.1:70000/"], "port `70000`"),
        (&["http", "http://127.0.0.1/", "-c", "0"], "--connections"),
        (
            &["http", "http://127.0.0.1/", "-d", "soon"],
            "`soon` is not a duration",
        ),
        (
            &["http", "http://127.0.0.1/", "-H", "NoColon"],
            "write 'Name: value'",
        ),
        (
            &["http", "http://127.0.0.1/", "--threshold", "p99 <"],
            "threshold",
        ),
        (&["tcp", "127.0.0.1:1", "--expect", "x"], "--send"),
        (
            &["tcp", "127.0.0.1:1", "--send", "x", "--pipeline", "0"],
            "--pipeline is from 1",
        ),
        (
            &[
                "tcp",
                "127.0.0.1:1",
                "--send",
                "x",
                "-P",
                "4",
                "--rate",
                "100",
            ],
            "not both",
        ),
    ];
    for (args, message) in cases {
        let output = ttk(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let output = ttk(&["http", "http://127.0.0.1/", "-c", "1000000"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("open files"),
        "{}",
        stderr(&output)
    );
    let output = ttk(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_reads_well() {
    let output = ttk(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    for command in ["http", "tcp", "udp", "merge", "report", "demo"] {
        assert!(stdout(&output).contains(command), "{command} in --help");
        let help = ttk(&[command, "--help"]);
        assert_eq!(help.status.code(), Some(0), "{command} --help");
        assert!(
            stdout(&help).starts_with(char::is_uppercase),
            "{command}: {}",
            stdout(&help)
        );
    }
}

#[test]
fn demo_runs_a_visible_load_on_its_own_target() {
    let dir = scratch("demo");
    let html = dir.join("demo.html");
    let output = ttk(&[
        "demo",
        "-c",
        "10",
        "-d",
        "1s",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("ttk demo: an HTTP target is listening on 127.0.0.1:"));
    assert!(out.contains("bots: 10 started, 10 finished"), "{out}");
    // The summary's successes are the target's own count.
    let ok = out
        .lines()
        .find_map(|line| line.strip_prefix("request "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    assert!(
        out.contains(&format!("The target answered {ok} requests")),
        "{out}"
    );
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));
}

#[test]
fn a_rate_sends_on_schedule() {
    let target = DemoTarget::start().unwrap();
    let dir = scratch("rate");
    let json = dir.join("rate.json");
    let url = format!("http://{}/", target.addr());
    let args = [
        "http", &url, "-c", "4", "--rate", "200", "-d", "1s", "-q", "--json",
    ];
    let output = ttk(&[&args[..], &[json.to_str().unwrap()]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    // 200 a second for one second: request n at n / 200 s, n from 0 to 199.
    assert_eq!(report.transaction("request").unwrap().ok, 200);
    assert_eq!(target.served(), 200);
}

/// A line server: answers each line with `+PONG` if it is `PING`, else `-ERR`.
fn line_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut writer = socket.try_clone().unwrap();
                for line in BufReader::new(socket).lines() {
                    let Ok(line) = line else { return };
                    let reply: &[u8] = if line.trim_end() == "PING" {
                        b"+PONG\r\n"
                    } else {
                        b"-ERR unknown\r\n"
                    };
                    if writer.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn tcp_exchanges_lines_and_checks_the_replies() {
    let addr = line_server();
    let dir = scratch("tcp");
    let json = dir.join("tcp.json");
    let json = json.to_str().unwrap();
    let args = ["tcp", &addr, "--send", "PING", "--expect", "PONG", "--crlf"];
    let output = ttk(&[&args[..], &["-c", "5", "-d", "500ms", "-q", "--json", json]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let request = Report::read_json(json).unwrap().transactions[1].clone();
    assert_eq!((request.name.as_str(), request.failed), ("request", 0));
    assert!(request.ok > 100, "{}", request.ok);

    let args = [
        "tcp", &addr, "--send", "HELLO", "--expect", "PONG", "--crlf",
    ];
    let rest = [
        "-c",
        "2",
        "-d",
        "300ms",
        "-q",
        "--threshold",
        "failures < 1%",
    ];
    let output = ttk(&[&args[..], &rest].concat());
    assert_eq!(output.status.code(), Some(1), "the threshold failed");
    assert!(stdout(&output).contains("the reply `-ERR unknown` lacks the expected text"));
}

#[test]
fn udp_exchanges_datagrams() {
    let (addr, answered) = udp_server(|server, datagram, from| {
        if datagram == b"ping" {
            let _ = server.send_to(b"pong", from);
        }
    });
    let dir = scratch("udp");
    let json = dir.join("udp.json");
    let json = json.to_str().unwrap();
    let args = [
        "udp", &addr, "--send", "ping", "--expect", "pong", "-c", "3",
    ];
    let output = ttk(&[
        &args[..],
        &["--rate", "300", "-d", "1s", "-q", "--json", json],
    ]
    .concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let request = Report::read_json(json).unwrap().transactions[0].clone();
    assert_eq!((request.ok, request.failed), (300, 0));
    assert_eq!(answered.load(Ordering::SeqCst), 300);
}

#[test]
fn report_rereads_a_run_and_checks_new_thresholds() {
    let target = DemoTarget::start().unwrap();
    let dir = scratch("report");
    let json = dir.join("run.json");
    let url = format!("http://{}/", target.addr());
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "2",
        "-d",
        "300ms",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let html = dir.join("run.html");
    let output = ttk(&[
        "report",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("ttk http: ran its whole duration"));
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("<title>ttk http — ttk report</title>")
    );

    let output = ttk(&[
        "report",
        json.to_str().unwrap(),
        "--threshold",
        "count(request) > 1000000000",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("FAILED"));

    let output = ttk(&["report", dir.join("absent.json").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("absent.json"));
}

#[test]
fn merge_joins_shard_reports() {
    let dir = scratch("merge");
    let shard = |index: usize| {
        let path = dir.join(format!("shard-{index}.json"));
        let shard = format!("{index}/2");
        let args = [
            "shop",
            "--bots",
            "6",
            "--shard",
            &shard,
            "--run-id",
            "merge-test",
            "-q",
        ];
        let mut test = ttk::cli::LoadTest::try_from_args("shop", args).unwrap();
        test.args_mut().json = Some(path.clone());
        assert_eq!(test.run(|_cx: ttk::Cx, _session| async {}).code, 0);
        path.to_str().unwrap().to_owned()
    };
    let (first, second) = (shard(0), shard(1));
    let merged = dir.join("all.json");
    let output = ttk(&["merge", &first, &second, "--json", merged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&merged).unwrap();
    assert_eq!(report.bots.started, 6);
    assert!(report.run.shards.as_ref().unwrap().is_complete());

    let output = ttk(&["merge", &first]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "a shard is missing: {}",
        stderr(&output)
    );
}

#[test]
fn a_run_in_which_nothing_succeeded_exits_1() {
    // Nothing listens on a port just let go.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let output = ttk(&["http", &url, "-c", "2", "-d", "300ms", "-q"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // The harness's rule for a run without thresholds (`ttk`'s own check of `request` is
    // for a run with thresholds that pass).
    assert!(
        stderr(&output).contains("no transaction succeeded"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("ConnectionRefused"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_late_datagram_is_not_taken_for_the_next_reply() {
    let first = std::sync::atomic::AtomicBool::new(true);
    let (addr, _) = udp_server(move |server, _, from| {
        if first.swap(false, Ordering::SeqCst) {
            // The first request's reply comes after its 100 ms and says so.
            let late = server.try_clone().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                let _ = late.send_to(b"stale", from);
            });
        } else {
            let _ = server.send_to(b"pong", from);
        }
    });
    let dir = scratch("udp-late");
    let json = dir.join("late.json");
    let json = json.to_str().unwrap();
    let args = [
        "udp",
        &addr,
        "--send",
        "ping",
        "--expect",
        "pong",
        "-c",
        "1",
        "--timeout",
        "100ms",
    ];
    let output = ttk(&[
        &args[..],
        &["--rate", "20", "-d", "1s", "-q", "--json", json],
    ]
    .concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let request = Report::read_json(json).unwrap().transactions[0].clone();
    assert_eq!((request.ok, request.failed), (19, 1));
    assert_eq!(
        request.errors.len(),
        1,
        "only the timeout: {:?}",
        request.errors
    );
    assert_eq!(request.errors[0].kind, "TimedOut");
}

/// Datagrams that came before a request was sent are not its reply: a server that answers
/// twice (the second copy 5 ms after the first, well before the next request of the rate), and
/// ttk's own `--net` duplicating every datagram each way. Each request is then timed from its
/// send to a reply to it: never under the server's delay, where taking an extra copy for the
/// next request's reply timed it at once.
#[test]
fn datagrams_that_came_before_the_request_are_not_its_reply() {
    let (addr, answered) = udp_server(|server, _, from| {
        let server = server.try_clone().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let _ = server.send_to(b"pong", from);
            std::thread::sleep(std::time::Duration::from_millis(5));
            let _ = server.send_to(b"pong", from);
        });
    });
    for (label, net, least_ms) in [
        ("twice", None, 20),
        ("duplicated", Some("delay=10ms dup=100%"), 40),
    ] {
        let json = scratch("udp-stale").join(format!("{label}.json"));
        let json = json.to_str().unwrap();
        let mut args = vec![
            "udp", &addr, "--send", "ping", "--expect", "pong", "-c", "1", "--rate", "10", "-d",
            "2s", "-q", "--json", json,
        ];
        if let Some(net) = net {
            args.extend(["--net", net]);
        }
        let before = answered.load(Ordering::SeqCst);
        let output = ttk(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{label}: {}",
            stderr(&output)
        );
        let report = Report::read_json(json).unwrap();
        let request = report.transaction("request").unwrap();
        assert_eq!((request.ok, request.failed), (20, 0), "{label}");
        let least = request.histogram.inner().min();
        assert!(
            least >= least_ms * 1000,
            "{label}: a request answered in {least} µs, before the server's reply could come"
        );
        // Every copy but the reply (and the last request's, still to come) was skipped: two
        // replies to each request, all of them twice under --net.
        let copies: u64 = if net.is_some() { 8 } else { 2 };
        let skipped = report.counters["datagrams skipped (not a reply)"];
        assert_eq!(skipped, (copies - 1) * 19, "{label}");
        // Duplicated on its way, each request reached the server twice.
        let received = answered.load(Ordering::SeqCst) - before;
        let sent = if net.is_some() { 2 } else { 1 };
        assert_eq!(received, request.ok * sent, "{label}");
    }
}

/// A binary protocol's datagram, with a NUL and bytes that are no UTF-8, given in hexadecimal;
/// a reply judged by the bytes it must hold, and shown in hexadecimal when it lacks them.
#[test]
fn udp_sends_and_expects_bytes_given_in_hexadecimal() {
    let (addr, answered) = udp_server(|server, datagram, from| {
        if datagram == [0x00, 0x01, 0xfe, 0x00] {
            let _ = server.send_to(&[0x80, 0x00, 0xff, 0x07], from);
        }
    });
    let dir = scratch("udp-hex");
    for (label, expect, ok) in [("holds", "00 ff", true), ("lacks", "ab:cd", false)] {
        let json = dir.join(format!("{label}.json"));
        let json = json.to_str().unwrap();
        let args = [
            "udp",
            &addr,
            "--send-hex",
            "0001 fe00",
            "--expect-hex",
            expect,
            "-c",
            "2",
            "-d",
            "500ms",
            "-q",
            "--json",
            json,
        ];
        let before = answered.load(Ordering::SeqCst);
        let output = ttk(&args);
        let request = Report::read_json(json).unwrap().transactions[0].clone();
        let replies = answered.load(Ordering::SeqCst) - before;
        if ok {
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            assert!(request.ok > 100, "{label}: {} requests", request.ok);
            assert_eq!((request.ok, request.failed), (replies, 0), "{label}");
        } else {
            assert_eq!(output.status.code(), Some(1), "{label}: nothing succeeded");
            assert_eq!((request.ok, request.failed), (0, replies), "{label}");
            assert_eq!(
                request.errors[0].samples[0],
                "the reply `8000ff07` lacks the expected bytes"
            );
        }
    }
}

/// A run on a schedule lasts its duration, though its last request was sent and answered
/// earlier: its rate is over the duration asked for (3 requests at `--rate 3 -d 1s` ended the
/// run at 667 ms, shown as 4.5/s).
#[test]
fn a_run_on_a_schedule_lasts_its_duration() {
    let (addr, _) = udp_server(|server, _, from| {
        let _ = server.send_to(b"pong", from);
    });
    let json = scratch("udp-schedule").join("run.json");
    let json = json.to_str().unwrap();
    let args = [
        "udp", &addr, "--send", "ping", "-c", "1", "--rate", "3", "-d", "1s", "-q", "--json", json,
    ];
    let output = ttk(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(json).unwrap();
    assert_eq!(report.transactions[0].ok, 3);
    let duration = report.run.duration_s;
    assert!(duration >= 1.0, "{duration} s");
}

/// Shards in which nothing succeeded each fail (exit 1, no threshold given); so does their
/// merge, and `ttk report` on it, by the same rule, unless a threshold judges instead. Shards
/// judged by thresholds of their own are judged by them again on the whole run (passed or
/// failed), and shards whose test turned the rule off passed: so do their merge and report.
#[test]
fn a_merge_and_a_report_of_a_run_in_which_nothing_succeeded_fail_as_the_run_did() {
    let dir = scratch("merge-nothing");
    for (judged, code) in [
        ("by the rule", 1),
        ("by thresholds", 0),
        ("by a failed threshold", 1),
        ("rule off", 0),
    ] {
        let shard = |index: usize| {
            let path = dir.join(format!("{judged}-{index}.json"));
            let shard = format!("{index}/2");
            let mut args = vec![
                "down", "--bots", "4", "--shard", &shard, "--run-id", "nothing", "-q",
            ];
            match judged {
                "by thresholds" => args.extend(["--threshold", "failures <= 100%"]),
                "by a failed threshold" => args.extend(["--threshold", "failures < 1%"]),
                _ => {}
            }
            let mut test = ttk::cli::LoadTest::try_from_args("down", args).unwrap();
            test.args_mut().json = Some(path.clone());
            test.require_success(judged != "rule off");
            let outcome = test.run(|cx: ttk::Cx, _session| async move {
                cx.transaction("request").fail("refused");
            });
            assert_eq!(i32::from(outcome.code), code, "{judged}: shard {index}");
            path.to_str().unwrap().to_owned()
        };
        let (first, second) = (shard(0), shard(1));
        let merged = dir.join(format!("{judged}-all.json"));
        let merged = merged.to_str().unwrap();
        let output = ttk(&["merge", &first, &second, "--json", merged]);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{judged}: {}",
            stderr(&output)
        );
        assert_eq!(
            stderr(&output).contains("no transaction succeeded (0 of 4)"),
            judged == "by the rule",
            "{judged}: {}",
            stderr(&output)
        );
        let output = ttk(&["report", merged]);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{judged}: {}",
            stderr(&output)
        );
    }
    let [first, second, merged] =
        ["by the rule-0", "by the rule-1", "by the rule-all"].map(|name| {
            dir.join(format!("{name}.json"))
                .to_str()
                .unwrap()
                .to_owned()
        });
    let judged = ["report", &merged, "--threshold", "failures <= 100%"];
    assert_eq!(ttk(&judged).status.code(), Some(0));
    let judged = [
        "merge",
        &first,
        &second,
        "--threshold",
        "count(request) == 0",
    ];
    assert_eq!(ttk(&judged).status.code(), Some(0));
}

/// `--seed` draws `--net`'s losses: the same seed, the same losses; other seeds, others.
#[test]
fn the_seed_draws_the_emulated_losses() {
    let (addr, _) = udp_server(|server, _, from| {
        let _ = server.send_to(b"pong", from);
    });
    let dir = scratch("udp-seed");
    let outcome = |seed: u64, run: usize| {
        let json = dir.join(format!("seed-{seed}-{run}.json"));
        let json = json.to_str().unwrap();
        let seed = seed.to_string();
        let args = [
            "udp",
            &addr,
            "--send",
            "ping",
            "-c",
            "2",
            "--rate",
            "20",
            "-d",
            "1s",
            "--timeout",
            "90ms",
            "--net",
            "loss=30%",
            "--seed",
            &seed,
            "-q",
            "--json",
            json,
        ];
        ttk(&args);
        let report = Report::read_json(json).unwrap();
        assert_eq!(report.run.parameters.seed, seed.parse::<u64>().unwrap());
        let request = report.transactions[0].clone();
        assert_eq!(request.ok + request.failed, 20, "every request sent");
        (request.ok, request.failed)
    };
    let drawn: Vec<_> = (1..=4).map(|seed| outcome(seed, 0)).collect();
    for seed in 1..=2 {
        assert_eq!(
            outcome(seed, 1),
            drawn[seed as usize - 1],
            "seed {seed} again"
        );
    }
    assert!(
        drawn.iter().any(|losses| *losses != drawn[0]),
        "other seeds, other losses: {drawn:?}"
    );
}

/// A UDP server on a thread of its own, answering each datagram with `answer` (given the
/// socket, the datagram and its sender): its address, and how many datagrams it received.
fn udp_server(
    answer: impl Fn(&UdpSocket, &[u8], std::net::SocketAddr) + Send + 'static,
) -> (String, Arc<AtomicU64>) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let received = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&received);
    std::thread::spawn(move || {
        let mut buf = [0; 1500];
        while let Ok((len, from)) = server.recv_from(&mut buf) {
            count.fetch_add(1, Ordering::SeqCst);
            answer(&server, &buf[..len], from);
        }
    });
    (addr, received)
}
