//! The irc_chat example against a real IRC server: Debian's ngircd, which this test starts on
//! a free loopback port with a configuration of its own — no limit of clients per address
//! (ngircd's built-in one is 5, Debian's configuration 10), a PING every client must answer
//! before it is welcomed (`RequireAuthPing`, so the chatters' PONGs are exercised), no ident,
//! DNS or PAM lookups, and none of the system's configuration — the example run as a
//! subprocess, and its report's counts checked against what ngircd itself counted (`STATS m`:
//! the commands it received, by name).
//!
//! Skipped, with a message, where `/usr/sbin/ngircd` is missing, unless `TTK_REQUIRE_NGIRCD=1`
//! (as in CI), where it fails.

// The example's IRC module, for its parser's unit tests (an example's own do not run).
#[allow(dead_code)]
#[path = "../irc_chat/irc.rs"]
mod irc;
mod util;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs ngircd.
const NGIRCD: &str = "/usr/sbin/ngircd";

/// An ngircd of this test's, stopped when dropped.
struct Ngircd {
    child: Child,
    port: u16,
    /// Its configuration, its empty include directory and its log.
    dir: std::path::PathBuf,
}

impl Ngircd {
    /// Starts ngircd in the foreground on a free port and waits until it accepts; `None`
    /// (after saying why) where there is none and none is required.
    fn start() -> Option<Ngircd> {
        if !std::path::Path::new(NGIRCD).exists() {
            let required = std::env::var("TTK_REQUIRE_NGIRCD").is_ok_and(|value| value == "1");
            assert!(!required, "TTK_REQUIRE_NGIRCD=1 but {NGIRCD} is missing");
            eprintln!("skipped: {NGIRCD} is missing (install ngircd to run this test)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("ttk-ngircd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("ngircd.conf");
        // An include directory of its own, empty: ngircd would read the system's otherwise.
        let include = dir.join("conf.d");
        std::fs::create_dir_all(&include).unwrap();
        std::fs::write(
            &config,
            format!(
                "[Global]\n\
                 Name = irc.ttk.test\n\
                 Info = the irc_chat test's server\n\
                 Listen = 127.0.0.1\n\
                 Ports = {port}\n\
                 MotdPhrase = a line of MOTD the chatters pass over\n\
                 IncludeDir = {include}\n\
                 [Limits]\n\
                 MaxConnectionsIP = 0\n\
                 [Options]\n\
                 RequireAuthPing = yes\n\
                 PAM = no\n\
                 Ident = no\n\
                 DNS = no\n",
                include = include.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("ngircd.log")).unwrap();
        let child = Command::new(NGIRCD)
            .arg("--nodaemon")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ngircd");
        let mut ngircd = Ngircd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(ngircd.addr()).is_err() {
            if let Ok(Some(status)) = ngircd.child.try_wait() {
                panic!("ngircd ended ({status}) before listening: {}", ngircd.log());
            }
            assert!(
                Instant::now() < deadline,
                "ngircd did not listen in 10 s: {}",
                ngircd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(ngircd)
    }

    /// What ngircd logged.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ngircd.log")).unwrap_or_default()
    }

    /// The address it listens on.
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The commands ngircd received, by name, from `STATS m` asked as a client of its own
    /// (which answers the PING ngircd asks for before the welcome: one PONG of the counts).
    fn command_counts(&self) -> HashMap<String, u64> {
        let mut stream = TcpStream::connect(self.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"NICK counter\r\nUSER counter 0 * :counter\r\n")
            .unwrap();
        let mut counts = HashMap::new();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).expect("ngircd's reply") > 0 {
            let words: Vec<&str> = line.trim_end().split(' ').collect();
            match (words[0], words.get(1)) {
                ("PING", _) => {
                    let pong = format!("PONG {}\r\nSTATS m\r\n", words[1..].join(" "));
                    stream.write_all(pong.as_bytes()).unwrap();
                }
                // `:irc.ttk.test 212 counter PRIVMSG 800 145800 0`, then 219 ends it.
                (_, Some(&"212")) => {
                    counts.insert(words[3].to_owned(), words[4].parse().unwrap());
                }
                (_, Some(&"219")) => return counts,
                _ => {}
            }
            line.clear();
        }
        panic!("ngircd closed before the end of STATS m: {}", self.log());
    }
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_chat_counts_what_ngircd_counted() {
    let Some(ngircd) = Ngircd::start() else {
        return;
    };
    let (rooms, rounds) = (10u64, 20u64);
    let report = util::run_chat("irc_chat", &ngircd.addr(), rooms, rounds, "120s");

    let chatters = rooms * 4;
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    assert_eq!(report.bots.finished, chatters);
    assert_eq!(counter("sent"), chatters * rounds);
    assert_eq!(counter("delivered"), 3 * counter("sent"));
    // Each chatter answered the PING ngircd asks for before its welcome.
    assert_eq!(counter("pongs"), chatters);
    // ngircd's own counts: a PRIVMSG per line sent, a JOIN and a QUIT per chatter (each
    // chatter read to the close after its QUIT, so ngircd had them all), a PONG per PING
    // answered, and the counting client's own.
    let counts = ngircd.command_counts();
    let server = |command: &str| counts.get(command).copied().unwrap_or(0);
    assert_eq!(server("PRIVMSG"), counter("sent"), "{counts:?}");
    assert_eq!(server("JOIN"), chatters, "{counts:?}");
    assert_eq!(server("QUIT"), chatters, "{counts:?}");
    assert_eq!(server("PONG"), counter("pongs") + 1, "{counts:?}");
    assert_eq!(report.transaction("round").unwrap().ok, chatters * rounds);
}

#[test]
fn flags_that_would_break_the_rooms_are_refused() {
    util::assert_usage_error("irc_chat", &["--bots", "6"], "use --rooms");
    util::assert_usage_error("irc_chat", &["--ramp-up", "1s"], "do not apply");
    util::assert_usage_error("irc_chat", &["--rooms", "0"], "--rooms");
    util::assert_usage_error("irc_chat", &["--processes", "2"], "one process");
    util::assert_usage_error("irc_chat", &["--shard", "0/2"], "one process");
}
