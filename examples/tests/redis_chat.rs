//! The redis_chat example against a real Redis: a `redis-server` this test starts on loopback
//! (no persistence), the example run as a subprocess, and its report's counts checked against
//! what Redis itself counted (`INFO commandstats`, `INFO stats`).
//!
//! Skipped, with a message, where `/usr/bin/redis-server` is missing, unless
//! `TTK_REQUIRE_REDIS=1` (as in CI), where it fails.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ttk::cli::ttk_report::Report;
use util::run_example_raw;

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A redis-server of this test's, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts redis-server on a free loopback port and waits until it answers PING; `None`
    /// (after saying why) where there is no redis-server and none is required.
    fn start() -> Option<Redis> {
        if !std::path::Path::new(REDIS_SERVER).exists() {
            let required = std::env::var("TTK_REQUIRE_REDIS").is_ok_and(|value| value == "1");
            assert!(
                !required,
                "TTK_REQUIRE_REDIS=1 but {REDIS_SERVER} is missing"
            );
            eprintln!("skipped: {REDIS_SERVER} is missing (install redis-server to run this test)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(reply) = redis.try_command("PING") {
                assert_eq!(reply, "+PONG");
                return Some(redis);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer in 10 s"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends an inline command and returns the reply: a line, or a bulk string's payload.
    fn try_command(&self, command: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(self.addr())?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(format!("{command}\r\n").as_bytes())?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end().to_owned();
        let Some(len) = line.strip_prefix('$') else {
            return Ok(line);
        };
        let mut payload = vec![0; len.parse::<usize>().unwrap() + 2];
        reader.read_exact(&mut payload)?;
        payload.truncate(payload.len() - 2);
        Ok(String::from_utf8(payload).unwrap())
    }

    /// Field `field` of `INFO section`: in `name:value` lines, or inside a commandstat's
    /// `calls=…,usec=…` value when given as `cmdstat_publish.calls`.
    fn info(&self, section: &str, field: &str) -> u64 {
        let info = self.try_command(&format!("INFO {section}")).unwrap();
        let (name, inner) = match field.split_once('.') {
            Some((name, inner)) => (name, Some(inner)),
            None => (field, None),
        };
        let value = info
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {name} in INFO {section}:\n{info}"));
        let value = match inner {
            None => value,
            Some(inner) => value
                .split(',')
                .find_map(|pair| pair.strip_prefix(inner)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("no {inner} in {name}:{value}")),
        };
        value.trim().parse().unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_chat_counts_what_redis_counted() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let (rooms, rounds) = (10u64, 60u64);
    let json = std::env::temp_dir().join(format!("ttk-redis-chat-{}.json", std::process::id()));
    let output = run_example_raw(
        "redis_chat",
        &[
            "--target",
            &redis.addr(),
            "--rooms",
            &rooms.to_string(),
            "--rounds",
            &rounds.to_string(),
            "--duration",
            "60s",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "redis_chat failed: {output:?}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    let report = Report::read_json(&json).unwrap();
    let _ = std::fs::remove_file(&json);

    let chatters = rooms * 4;
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    assert_eq!(report.bots.finished, chatters);
    assert_eq!(counter("published"), chatters * rounds);
    // Redis' own counts: one PUBLISH per line published, one SUBSCRIBE per chatter.
    assert_eq!(
        redis.info("commandstats", "cmdstat_publish.calls"),
        counter("published")
    );
    assert_eq!(
        redis.info("commandstats", "cmdstat_subscribe.calls"),
        chatters
    );
    // Every delivery Redis reported (the PUBLISH replies, summed) was read by a chatter, and
    // each line reached the room's four.
    assert_eq!(counter("delivered"), counter("receivers"));
    assert_eq!(counter("receivers"), 4 * counter("published"));
    // The chatters are gone: no subscription is left behind, once Redis has seen their
    // connections close (the example has exited; Redis may not have read the closes yet).
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.info("stats", "pubsub_channels") != 0 {
        assert!(Instant::now() < deadline, "subscriptions left behind");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(report.transaction("publish").unwrap().ok, chatters * rounds);
}

#[test]
fn flags_that_would_break_the_rooms_are_refused() {
    util::assert_usage_error("redis_chat", &["--bots", "6"], "use --rooms");
    util::assert_usage_error("redis_chat", &["--rate", "5/s"], "do not apply");
    util::assert_usage_error("redis_chat", &["--rooms", "0"], "--rooms");
}
