//! Property tests of the `ttk` command line's parsers — URLs, `HOST:PORT`, and every flag's
//! value (durations, rates, sizes, headers, methods, thresholds, TLS versions) as clap hands
//! them over: any text is taken or refused with a message, never a panic; well-formed URLs
//! and addresses are taken as written. Here, inside the crate, because the parsers are its own.

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::command::Ttk;
use crate::host_port::parse_host_port;
use crate::http_target::HttpTarget;

/// A few thousand cases, unless `PROPTEST_CASES` says otherwise (`cargo xtask fuzz`).
fn cases(default: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config.failure_persistence = None;
    config
}

/// The pieces flag values and URLs are made of, edge values among them.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "80",
    "65535",
    "65536",
    "18446744073709551616",
    "1e308",
    "-1",
    ".",
    "s",
    "ms",
    "m",
    "h",
    "/s",
    "K",
    "M",
    "MiB",
    "KB",
    ":",
    ",",
    "/",
    "?",
    "#",
    "@",
    "[",
    "]",
    "::1",
    "%",
    "eth0",
    "http",
    "https",
    "ws",
    "://",
    "localhost",
    "127.0.0.1",
    " ",
    "\t",
    "\r\n",
    "Name",
    "é",
    "p99",
    "(",
    ")",
    "<",
    "<=",
    "%",
    "on",
    "off",
    "1.2",
    "1.3",
    "GET",
    "x",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOKENS), 0..10).prop_map(|parts| parts.concat()),
        "\\PC{0,30}",
    ]
}

/// A host: a name, an IPv4 address or a bracketed IPv6 one.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|parts| format!("[{}]", std::net::Ipv6Addr::from(parts))),
    ]
}

proptest! {
    #![proptest_config(cases(2_000))]

    #[test]
    fn any_command_line_is_taken_or_refused(
        command in prop::sample::select(vec!["http", "tcp", "udp", "report", "merge", "demo"]),
        positional in text(),
        flags in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "-c", "-d", "--rate", "--timeout", "--connect-rate", "--threshold", "-m",
                    "-H", "-b", "--max-head", "--tls-version", "--tls-resume", "--send",
                    "--expect", "--max-line", "--retries",
                ]),
                text(),
            ),
            0..4,
        ),
    ) {
        let mut args = vec!["ttk".to_owned(), command.to_owned(), positional];
        for (flag, value) in flags {
            args.push(flag.to_owned());
            args.push(value);
        }
        // Parsing only: a command line taken would start a run.
        let _ = Ttk::try_parse_from(args);
    }

    #[test]
    fn any_text_is_a_url_or_refused(url in text()) {
        if let Ok(target) = url.parse::<HttpTarget>() {
            let _ = (target.socket_authority(), target.host());
            prop_assert!(target.path.starts_with('/'));
            // What was taken reads back the same from its own display.
            prop_assert_eq!(target.to_string().parse::<HttpTarget>(), Ok(target));
        }
    }

    #[test]
    fn a_well_formed_url_is_taken_as_written(
        tls in any::<bool>(),
        host in host(),
        port in prop::option::of(1u16..),
        path in "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){0,4}",
        query in prop::option::of("[A-Za-z0-9=&%/?-]{0,20}"),
    ) {
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let query = query.map(|query| format!("?{query}")).unwrap_or_default();
        let scheme = if tls { "https" } else { "http" };
        let url = format!("{scheme}://{authority}{path}{query}#fragment");
        let target: HttpTarget = url.parse().unwrap();
        prop_assert_eq!(target.tls, tls);
        prop_assert_eq!(&target.authority, &authority);
        let expected = match (path.as_str(), query.as_str()) {
            ("", "") => "/".to_owned(),
            ("", query) => format!("/{query}"),
            (path, query) => format!("{path}{query}"),
        };
        prop_assert_eq!(&target.path, &expected);
        let default_port = if tls { 443 } else { 80 };
        prop_assert_eq!(
            target.socket_authority(),
            format!("{host}:{}", port.unwrap_or(default_port))
        );
        prop_assert_eq!(target.host(), host.trim_start_matches('[').trim_end_matches(']'));
    }

    #[test]
    fn any_text_is_a_host_and_port_or_refused(text in text()) {
        if let Ok(taken) = parse_host_port(&text) {
            prop_assert_eq!(taken, text.trim());
        }
    }

    #[test]
    fn a_host_and_port_is_taken_as_written(host in host(), port in 1u16..) {
        let text = format!("{host}:{port}");
        prop_assert_eq!(parse_host_port(&text), Ok(text.clone()));
    }
}
