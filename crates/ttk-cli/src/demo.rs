//! `ttk demo`: a built-in target, and a short, visible load against it.

use std::path::PathBuf;

use clap::Args;

use ttk::tls::TestPki;

use crate::demo_target::DemoTarget;

/// `ttk demo`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Starts an HTTP server on 127.0.0.1 (on threads of this process; HTTPS with \
    --tls), runs `ttk http` against it with live progress, then prints the summary, how many requests the \
    server itself answered (they match the successes) and where the HTML report is."
)]
pub(crate) struct DemoArgs {
    /// Connections
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N")]
    connections: u32,

    /// How long to send: 5s, or with --rate stages (`100/s:3s,500/s:2s`) their length
    #[arg(short = 'd', long, value_name = "TIME")]
    duration: Option<String>,

    /// Requests per second over all connections (default: as fast as the target answers)
    #[arg(long, value_name = "RATE")]
    rate: Option<String>,

    /// Write the HTML report here
    #[arg(long, value_name = "PATH", default_value = "ttk-demo.html")]
    html: PathBuf,

    /// Serve HTTPS (a CA and certificate made on the spot; the load trusts the CA with
    /// --cacert) and load it with `ttk http https://…`
    #[arg(long)]
    tls: bool,
}

impl DemoArgs {
    /// Runs the demo; the exit code of its load.
    pub(crate) fn run(self) -> u8 {
        let pki = match self.tls.then(TestPki::new).transpose() {
            Ok(pki) => pki,
            Err(error) => {
                eprintln!("error: cannot make the demo's certificates: {error}");
                return 3;
            }
        };
        let started = match &pki {
            None => DemoTarget::start(),
            Some(pki) => DemoTarget::start_tls(pki),
        };
        let target = match started {
            Ok(target) => target,
            Err(error) => {
                eprintln!("error: cannot start the demo's HTTP target on 127.0.0.1: {error}");
                return 3;
            }
        };
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://{}/", target.addr());
        let mut command = vec![
            "ttk".to_owned(),
            "http".to_owned(),
            url,
            "-c".to_owned(),
            self.connections.to_string(),
            "--html".to_owned(),
            self.html.display().to_string(),
        ];
        // Stages with lengths say how long themselves (`ttk http` refuses a -d beside them).
        let staged = self.rate.as_ref().is_some_and(|rate| rate.contains(':'));
        match &self.duration {
            Some(duration) => command.extend(["-d".to_owned(), duration.clone()]),
            None if !staged => command.extend(["-d".to_owned(), "5s".to_owned()]),
            None => {}
        }
        if let Some(rate) = &self.rate {
            command.extend(["--rate".to_owned(), rate.clone()]);
        }
        // The CA the target's certificate chains to, for --cacert; removed at the end.
        let ca_file = std::env::temp_dir().join(format!("ttk-demo-ca-{}.pem", std::process::id()));
        if let Some(pki) = &pki {
            if let Err(error) = std::fs::write(&ca_file, pki.ca_pem()) {
                eprintln!("error: cannot write {}: {error}", ca_file.display());
                return 3;
            }
            command.extend(["--cacert".to_owned(), ca_file.display().to_string()]);
        }
        let what = if self.tls { "an HTTPS" } else { "an HTTP" };
        println!("ttk demo: {what} target is listening on {}", target.addr());
        println!("running: {}\n", command.join(" "));
        let code = crate::run(&command);
        if pki.is_some() {
            let _ = std::fs::remove_file(&ca_file);
        }
        println!(
            "\nThe target answered {} requests (the `request` successes above, counted by ttk).",
            target.served()
        );
        println!(
            "Next: `ttk http --help`, `ttk tcp --help`, or scripted bots that play together \
             with the ttk crate (README)."
        );
        code
    }
}
