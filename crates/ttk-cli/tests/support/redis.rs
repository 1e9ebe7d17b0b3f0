//! A real redis-server on loopback for tests: started on a free port (no persistence) and
//! stopped when dropped; its own counters read with `INFO`. Shared by the examples' tests and
//! ttk-cli's (each includes this file by path).
//!
//! Skipped, with a message, where `/usr/bin/redis-server` is missing, unless
//! `TTK_REQUIRE_REDIS=1` (as in CI), where it fails.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A redis-server of this test's, stopped when dropped.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts redis-server on a free loopback port, with `flags` (`--timeout 1`) after its
    /// own, and waits until it answers PING; `None` (after saying why) where there is no
    /// redis-server and none is required.
    pub fn start(flags: &[&str]) -> Option<Redis> {
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
            .args(flags)
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

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends an inline command and returns the reply: a line, or a bulk string's payload.
    pub fn try_command(&self, command: &str) -> std::io::Result<String> {
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
    pub fn info(&self, section: &str, field: &str) -> u64 {
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
