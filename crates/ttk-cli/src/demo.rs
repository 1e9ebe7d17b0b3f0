//! `ttk demo`: a built-in target, and a short, visible load against it.

use std::path::PathBuf;

use clap::Args;

use crate::demo_target::DemoTarget;

/// `ttk demo`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Starts an HTTP server on 127.0.0.1 (on threads of this process), runs \
    `ttk http` against it with live progress, then prints the summary, how many requests the \
    server itself answered (they match the successes) and where the HTML report is."
)]
pub(crate) struct DemoArgs {
    /// Connections
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N")]
    connections: u32,

    /// How long to send
    #[arg(short = 'd', long, default_value = "5s", value_name = "TIME")]
    duration: String,

    /// Requests per second over all connections (default: as fast as the target answers)
    #[arg(long, value_name = "RATE")]
    rate: Option<String>,

    /// Write the HTML report here
    #[arg(long, value_name = "PATH", default_value = "ttk-demo.html")]
    html: PathBuf,
}

impl DemoArgs {
    /// Runs the demo; the exit code of its load.
    pub(crate) fn run(self) -> u8 {
        let target = match DemoTarget::start() {
            Ok(target) => target,
            Err(error) => {
                eprintln!("error: cannot start the demo's HTTP target on 127.0.0.1: {error}");
                return 3;
            }
        };
        let url = format!("http://{}/", target.addr());
        let mut command = vec![
            "ttk".to_owned(),
            "http".to_owned(),
            url,
            "-c".to_owned(),
            self.connections.to_string(),
            "-d".to_owned(),
            self.duration.clone(),
            "--html".to_owned(),
            self.html.display().to_string(),
        ];
        if let Some(rate) = &self.rate {
            command.extend(["--rate".to_owned(), rate.clone()]);
        }
        println!("ttk demo: an HTTP target is listening on {}", target.addr());
        println!("running: {}\n", command.join(" "));
        let code = crate::run(&command);
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
