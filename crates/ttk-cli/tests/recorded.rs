//! What a `ttk http` / `ttk tcp` report records of its run: the command line as typed (secrets
//! redacted), which runs again as it is, and the load as given, against real servers on
//! loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use ttk_cli::DemoTarget;
use ttk_report::Report;

mod support;
use support::{scratch, stderr, ttk};

#[test]
fn an_http_report_records_the_typed_command_line_with_secrets_redacted() {
    let target = DemoTarget::start().unwrap();
    let dir = scratch("http");
    let json = dir.join("run.json").display().to_string();
    let url = format!("http://{}/orders?page=2&api_key=k-123", target.addr());
    let typed = [
        "http",
        &url,
        "-m",
        "POST",
        "-b",
        "{}",
        "-H",
        "Authorization: Bearer s3cret",
        "--header=Cookie: session=abc",
        "-H",
        "Accept: text/plain",
        "-c",
        "2",
        "-d",
        "1000ms",
        "--rate",
        "50",
        "-q",
        "--json",
        &json,
    ];
    let output = ttk(&typed);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    let parameters = &report.run.parameters;

    let redacted_url = format!("http://{}/orders?page=2&api_key=[redacted]", target.addr());
    let mut expected = vec![env!("CARGO_BIN_EXE_ttk").to_owned()];
    expected.extend(typed.iter().map(|word| (*word).to_owned()));
    expected[2].clone_from(&redacted_url);
    expected[8] = "Authorization: [redacted]".to_owned();
    expected[9] = "--header=Cookie: [redacted]".to_owned();
    assert_eq!(parameters.command_line, expected);
    let recorded = parameters.command_line.join(" ");
    for secret in ["s3cret", "session=abc", "k-123"] {
        assert!(!recorded.contains(secret), "{secret} in {recorded}");
    }

    // The load as given: not `1s`, not `50/s`, not a closed run of bots without its rate.
    assert_eq!(parameters.duration.as_deref(), Some("1000ms"));
    assert_eq!(parameters.rate.as_deref(), Some("50"));
    assert_eq!(parameters.bots, Some(2));
    assert_eq!(parameters.target.as_deref(), Some(redacted_url.as_str()));
    assert_eq!(report.transaction("request").unwrap().ok, 50);

    // The recorded command line is one `ttk` runs (the redacted values sent as they are).
    let again = ttk(&parameters.command_line[1..]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

/// Answers each line with `+PONG`.
fn pong_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut writer = socket.try_clone().unwrap();
                for line in BufReader::new(socket).lines() {
                    if line.is_err() || writer.write_all(b"+PONG\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_tcp_report_records_the_typed_command_line_and_the_address() {
    let addr = pong_server();
    let dir = scratch("tcp");
    let json = dir.join("run.json").display().to_string();
    let typed = [
        "tcp", &addr, "--send", "PING", "--expect", "PONG", "--crlf", "-c", "3", "-d", "500ms",
        "-q", "--json", &json,
    ];
    let output = ttk(&typed);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let parameters = Report::read_json(&json).unwrap().run.parameters;
    assert_eq!(parameters.command_line[1..], typed);
    assert_eq!(parameters.duration.as_deref(), Some("500ms"));
    assert_eq!(parameters.rate, None);
    assert_eq!(parameters.bots, Some(3));
    assert_eq!(parameters.target.as_deref(), Some(addr.as_str()));
}
