//! The HTML report as a browser sees it: a realistic report rendered to a file, opened by
//! headless Chromium (a real subprocess), its DOM read back and a screenshot taken.
//!
//! Needs `chromium` (Debian: `apt-get install -y chromium`). Without it the test says it is
//! skipped and passes, unless `TTK_REQUIRE_CHROMIUM` is set.

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ttk_report::{
    BotTally, ErrorTally, GaugeReport, Histogram, Report, SecondReport, SecondTransaction,
    ThresholdResult, TransactionReport,
};

/// What a hostile server might send as an error message. Were it to run, it would mark the
/// body, and the dumped DOM would show the mark.
const INJECTED: &str = concat!(
    "<script>document.body.setAttribute('data-pwned','1')</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
);

/// The run's name, with characters that must be escaped in the title.
const RUN_NAME: &str = "shop checkout & <friends>";

/// Every chart's id.
const PLOTS: [&str; 5] = [
    "plot-throughput",
    "plot-latency",
    "plot-bots",
    "plot-distribution",
    "plot-errors",
];

/// How long a browser may take before it is killed: a hung browser must not hang the suite.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn report_renders_in_chromium_without_running_injected_markup() {
    let Some(browser) = browser_or_skip() else {
        return;
    };

    let dir = output_dir();
    let page = dir.join("report.html");
    realistic_report().write_html(&page).unwrap();
    let url = format!("file://{}", page.display());

    // The DOM as Chromium built it; also left in `dump-dom.stdout` beside the page.
    let dom = run_browser(&browser, &dir, "dump-dom", &["--dump-dom", &url]);

    assert!(
        dom.contains("<title>shop checkout &amp; &lt;friends&gt; — ttk report</title>"),
        "the title changed or is not escaped:\n{}",
        head(&dom)
    );
    assert!(!dom.contains("data-pwned=\"1\""), "the injected script ran");
    assert!(!dom.contains("<script"), "a script element reached the DOM");
    assert!(!dom.contains("<img"), "an img element reached the DOM");
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;"),
        "the injected message is not shown as text"
    );
    for id in PLOTS {
        let figure = element(
            &dom,
            &format!("<figure class=\"plot\" id=\"{id}\">"),
            "</figure>",
        )
        .unwrap_or_else(|| panic!("no figure {id} in the DOM"));
        let svg = element(figure, "<svg", "</svg>").unwrap_or_else(|| panic!("{id} has no svg"));
        assert!(
            svg.contains("<polyline") || svg.contains("<polygon") || svg.contains("<path"),
            "{id} draws nothing: {svg}"
        );
        assert!(svg.contains("<text"), "{id} has no axis labels");
    }

    let png = dir.join("report.png");
    let _ = fs::remove_file(&png);
    let screenshot = format!("--screenshot={}", png.display());
    run_browser(
        &browser,
        &dir,
        "screenshot",
        &[
            &screenshot,
            "--window-size=1280,3000",
            "--hide-scrollbars",
            &url,
        ],
    );
    let bytes = fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {png:?}: {e}"));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{png:?} is not a PNG"
    );
    assert!(
        bytes.len() > 50_000,
        "{png:?} is only {} bytes",
        bytes.len()
    );
    eprintln!("page: {}\nscreenshot: {}", page.display(), png.display());
}

/// The merge of shards' reports, one shard missing, renders with every plot and says it is
/// incomplete.
#[test]
fn a_merged_report_renders_in_chromium_and_says_what_is_missing() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let shard = |index| {
        let mut report = realistic_report();
        report.run.run_id = "shop-42".to_owned();
        report.run.shard = Some(ttk_report::Shard { index, count: 3 });
        report
    };
    let merged = Report::merge([shard(0), shard(2)]).unwrap();
    let dir = output_dir();
    let page = dir.join("merged.html");
    merged.write_html(&page).unwrap();
    let url = format!("file://{}", page.display());
    let dom = run_browser(&browser, &dir, "merged-dump-dom", &["--dump-dom", &url]);
    for id in PLOTS {
        let figure = element(
            &dom,
            &format!("<figure class=\"plot\" id=\"{id}\">"),
            "</figure>",
        )
        .unwrap_or_else(|| panic!("no figure {id} in the merged report's DOM"));
        assert!(figure.contains("<svg"), "{id} has no svg");
    }
    assert!(dom.contains(">incomplete</span>"), "no incomplete badge");
    assert!(dom.contains("shard 1 of 3 is missing"));
    assert!(dom.contains("Shards merged"));
}

/// The browser, or `None` after saying the test is skipped (unless TTK_REQUIRE_CHROMIUM is
/// set: then a missing browser fails the test).
fn browser_or_skip() -> Option<PathBuf> {
    let browser = find_browser();
    if browser.is_none() {
        if std::env::var_os("TTK_REQUIRE_CHROMIUM").is_some() {
            panic!(
                "TTK_REQUIRE_CHROMIUM is set but no chromium, chromium-browser or google-chrome \
                 is on PATH: install it with `apt-get install -y chromium`"
            );
        }
        // Straight to the standard error stream, not through eprintln!, which the test
        // harness captures and shows only for failing tests: a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: chromium not installed (set TTK_REQUIRE_CHROMIUM=1 to require it)"
        );
    }
    browser
}

/// `<target>/ttk-report/`, made if needed.
fn output_dir() -> PathBuf {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = target_tmp.parent().unwrap_or(target_tmp).join("ttk-report");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first Chromium-like browser on `PATH`.
fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs `browser` headless with `args` in its own process group and returns its standard
/// output; kills the whole group if it runs longer than [`BROWSER_TIMEOUT`].
fn run_browser(browser: &Path, dir: &Path, task: &str, args: &[&str]) -> String {
    let stdout_path = dir.join(format!("{task}.stdout"));
    let stderr_path = dir.join(format!("{task}.stderr"));
    // A profile of its own, so that runs of this test in parallel worktrees do not share one.
    let profile = dir.join(format!("profile-{task}-{}", std::process::id()));
    // Output goes to files, not pipes: Chromium's helper processes can hold a pipe open after
    // the browser exits, and a reader waiting on it would hang.
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {browser:?}: {e}"));
    let status = wait_or_kill(&mut child, BROWSER_TIMEOUT);
    let _ = fs::remove_dir_all(&profile);
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!("{browser:?} ({task}) ran over {BROWSER_TIMEOUT:?} and was killed:\n{stderr}")
    });
    assert!(
        status.success(),
        "{browser:?} ({task}) failed: {status}\n{stderr}"
    );
    fs::read_to_string(&stdout_path).unwrap()
}

/// Waits for `child` up to `timeout`; past it kills the child's process group and returns
/// `None`.
fn wait_or_kill(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            // The group id is the child's pid (`process_group(0)`): this ends the browser and
            // the helpers it started, nothing else.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The text from `start` to the end of the first `end` after it.
fn element<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)?;
    let to = from + text[from..].find(end)? + end.len();
    Some(&text[from..to])
}

/// The start of a long text, for messages.
fn head(text: &str) -> &str {
    let mut end = text.len().min(2000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A deterministic random source (xorshift64*): the same report every run.
struct Random(u64);

impl Random {
    /// A uniform number in `(0, 1]`.
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (bits as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A standard normal number (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A log-normal latency with the given median and spread.
    fn latency(&mut self, median_ms: f64, spread: f64) -> Duration {
        Duration::from_secs_f64(median_ms * (spread * self.normal()).exp() / 1000.0)
    }
}

/// One transaction of the simulated shop.
struct Shape {
    name: &'static str,
    /// Successes per bot per second.
    per_bot: f64,
    /// Median latency, in milliseconds.
    median_ms: f64,
    /// Spread of the log-normal latency.
    spread: f64,
}

/// A minute of a simulated shop under load: bots ramp up over 15 s and down over the last 5,
/// the payment backend slows down between 35 s and 42 s and checkout times out and fails
/// meanwhile, with one failure message that is an injection attempt.
fn realistic_report() -> Report {
    let shapes = [
        Shape {
            name: "login",
            per_bot: 0.4,
            median_ms: 18.0,
            spread: 0.35,
        },
        Shape {
            name: "browse catalog",
            per_bot: 1.6,
            median_ms: 42.0,
            spread: 0.5,
        },
        Shape {
            name: "add to cart",
            per_bot: 0.8,
            median_ms: 27.0,
            spread: 0.4,
        },
        Shape {
            name: "checkout",
            per_bot: 0.3,
            median_ms: 95.0,
            spread: 0.6,
        },
    ];
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut report = Report::new(RUN_NAME);
    report.run.started_unix_s = 1_764_100_800.0;
    report.run.duration_s = 60.0;
    report.run.end = "duration".to_owned();
    report.run.parameters.bots = Some(40);
    report.run.parameters.ramp_up = Some("15s".to_owned());
    report.run.parameters.duration = Some("60s".to_owned());
    report.run.parameters.target = Some("http://127.0.0.1:8080".to_owned());
    report.run.parameters.seed = 42;
    report.run.parameters.command_line = ["shop-load", "--bots", "40", "--ramp-up", "15s"]
        .iter()
        .chain(&["--duration", "60s", "--target", "http://127.0.0.1:8080"])
        .map(|s| s.to_string())
        .collect();
    report.transactions = shapes
        .iter()
        .map(|s| TransactionReport::new(s.name))
        .collect();

    let mut timeouts = 0;
    let mut unavailable = 0;
    for t in 1..=60u64 {
        let bots = match t {
            0..=15 => (40 * t / 15).max(1),
            56.. => 40 * (60 - t) / 5,
            _ => 40,
        };
        let slow = (35..=42).contains(&t);
        let mut second = SecondReport {
            t,
            active_bots: bots,
            ..SecondReport::default()
        };
        for (shape, total) in shapes.iter().zip(&mut report.transactions) {
            let noise = 1.0 + 0.12 * random.normal();
            let mut expected = bots as f64 * shape.per_bot * noise.max(0.2);
            let mut median = shape.median_ms;
            let mut failed = 0;
            if slow && shape.name == "checkout" {
                expected *= 0.5;
                median *= 4.0;
                failed = 2 + (random.unit() * 4.0) as u64;
                timeouts += failed - 1;
                unavailable += 1;
            }
            let mut histogram = Histogram::new();
            let ok = expected.round() as u64;
            for _ in 0..ok {
                histogram.record(random.latency(median, shape.spread));
            }
            total.ok += ok;
            total.failed += failed;
            total.histogram.merge(&histogram);
            second.errors += failed;
            second.transactions.insert(
                shape.name.to_owned(),
                SecondTransaction::new(ok, failed, &histogram),
            );
        }
        report.series.push(second);
    }
    let checkout = &mut report.transactions[3];
    checkout.errors = vec![
        ErrorTally {
            kind: "TimedOut".to_owned(),
            count: timeouts,
            samples: vec!["no response within 2s".to_owned()],
        },
        ErrorTally {
            kind: "HTTP 503".to_owned(),
            count: unavailable,
            samples: vec![
                INJECTED.to_owned(),
                "payment backend unavailable".to_owned(),
            ],
        },
    ];
    checkout.abandoned = 1;
    checkout.stopped = 2;

    let p99_login = ttk_report::Latency::of(&report.transactions[0].histogram).p99_us;
    let p99_checkout = ttk_report::Latency::of(&report.transactions[3].histogram).p99_us;
    report.thresholds = vec![
        ThresholdResult {
            expression: "p99(login) < 100ms".to_owned(),
            measured: format!("{:.1}ms", p99_login as f64 / 1000.0),
            limit: "100ms".to_owned(),
            passed: p99_login < 100_000,
        },
        ThresholdResult {
            expression: "p99(checkout) < 500ms".to_owned(),
            measured: format!("{:.1}ms", p99_checkout as f64 / 1000.0),
            limit: "500ms".to_owned(),
            passed: p99_checkout < 500_000,
        },
    ];
    report
        .counters
        .insert("bytes received".to_owned(), 48_213_377);
    report.counters.insert("cache hits".to_owned(), 3_412);
    report.counters.insert(
        "\"><svg onload=document.body.setAttribute('data-pwned','1')>".to_owned(),
        1,
    );
    report.gauges.insert(
        "open connections".to_owned(),
        GaugeReport {
            last: 0,
            min: 0,
            max: 40,
            ..GaugeReport::default()
        },
    );
    report.bots = BotTally {
        started: 40,
        finished: 38,
        failed: 1,
        stopped: 1,
        errors: vec![ErrorTally {
            kind: "panicked".to_owned(),
            count: 1,
            samples: vec!["called `Option::unwrap()` on a `None` value".to_owned()],
        }],
    };
    report
}
