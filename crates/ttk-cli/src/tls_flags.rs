//! The TLS flags `ttk http` (for https:// URLs) and `ttk tcp --tls` share, and the timed
//! connect they make: `connect` for TCP, then `tls` for the handshake.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ttk::Cx;
use ttk::http::Reconnect;
use ttk::net::TcpStream;
use ttk::tls::{MaybeTls, TlsConnector, TlsVersion};

/// The counter of handshakes that resumed a session.
const RESUMED: &str = "tls resumed handshakes";

/// The counter of full handshakes.
const FULL: &str = "tls full handshakes";

/// The counter of handshakes whose certificate was not checked.
const UNVERIFIED: &str = "tls handshakes NOT verified (--insecure)";

/// How TLS connections are made.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "TLS")]
pub(crate) struct TlsFlags {
    /// Trust the CA certificates in this PEM file, beside the system's roots [curl --cacert,
    /// k6 tlsAuth]
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,

    /// Do not check the server's certificate (self-signed test servers); the handshakes are
    /// still real, and the summary and report say that certificates went unchecked [curl -k,
    /// oha --insecure, k6 insecureSkipTLSVerify]
    #[arg(short = 'k', long)]
    pub(crate) insecure: bool,

    /// Present this client certificate (PEM) to servers that ask (mutual TLS) [curl --cert]
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,

    /// The private key (PEM) of --cert [curl --key]
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,

    /// Resume TLS sessions when a connection is opened again, as browsers do (on; each
    /// connection resumes its own), or make a full handshake every time (off: what a test of
    /// handshake cost wants)
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    tls_resume: bool,

    /// Offer only this TLS version: 1.2 or 1.3 (default: both)
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    tls_version: Option<TlsVersion>,
}

impl TlsFlags {
    /// Whether any TLS flag was given (they do nothing for a plain target).
    pub(crate) fn any_given(&self) -> bool {
        self.cacert.is_some()
            || self.insecure
            || self.cert.is_some()
            || !self.tls_resume
            || self.tls_version.is_some()
    }

    /// The connector these flags describe, with `alpn` offered and handshakes limited to
    /// `timeout` (`--timeout`; the connector's default without it); `Err` is the exit code,
    /// the message printed.
    pub(crate) fn connector(
        &self,
        alpn: &[&str],
        timeout: Option<Duration>,
    ) -> Result<TlsConnector, u8> {
        let mut builder = TlsConnector::builder()
            .insecure(self.insecure)
            .resumption(self.tls_resume)
            .alpn(alpn);
        if let Some(limit) = timeout {
            builder = builder.handshake_timeout(Some(limit));
        }
        if self.insecure && self.cacert.is_some() {
            eprintln!("warning: --insecure checks no certificate: --cacert is not read");
        }
        if let Some(version) = self.tls_version {
            builder = builder.versions(&[version]);
        }
        let built = (|| {
            if let Some(ca) = self.cacert.as_ref().filter(|_| !self.insecure) {
                builder = builder.ca_file(ca)?;
            }
            if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
                builder = builder.client_certificate_files(cert, key)?;
            }
            builder.build()
        })();
        match built {
            Ok(connector) => {
                if self.insecure {
                    eprintln!(
                        "warning: --insecure: server certificates are NOT checked (the \
                         handshakes are counted as `{UNVERIFIED}`)"
                    );
                }
                Ok(connector)
            }
            Err(error) => {
                eprintln!("error: {error}");
                Err(2)
            }
        }
    }
}

/// Connects to `addr` (from `source` if given), timed as `connect`, then, with `tls`, makes the TLS handshake for
/// `server_name`, timed as `tls` and counted as full or resumed (each within `limit`).
pub(crate) async fn connect_timed(
    cx: &Cx,
    addr: &str,
    source: Option<SocketAddr>,
    tls: Option<(&TlsConnector, &str)>,
    limit: Option<Duration>,
) -> io::Result<MaybeTls> {
    let connect = async {
        match source {
            Some(source) => TcpStream::connect_from(source, addr).await,
            None => TcpStream::connect(addr).await,
        }
    };
    let stream = match limit {
        Some(limit) => cx.time_within("connect", limit, connect).await,
        None => cx.time("connect", connect).await,
    }?;
    stream.set_nodelay(true)?;
    let Some((connector, name)) = tls else {
        return Ok(MaybeTls::Plain(stream));
    };
    // The connector bounds the handshake itself (by `limit` when given), and names the server
    // in its error.
    let stream = cx.time("tls", connector.connect(name, stream)).await?;
    count_handshakes(
        cx,
        connector,
        u64::from(!stream.is_resumed()),
        u64::from(stream.is_resumed()),
    );
    Ok(MaybeTls::from(stream))
}

/// Times the connections a connection made again on its own, inside requests (see
/// [`Reconnect`]), as the `connect` and `tls` transactions that [`connect_timed`] times: a
/// connect or handshake that failed is timed to now (it failed the request that just ended).
/// Call it between transactions: it uses `cx.measure_from` for the failed ones, which a
/// `measure_from` meant for the next transaction must not precede. Whether one of them failed
/// (the server is gone, or refuses connections for now).
pub(crate) fn record_reconnects(cx: &Cx, reconnects: impl Iterator<Item = Reconnect>) -> bool {
    let mut failed = false;
    for reconnect in reconnects {
        let connected = match reconnect.connected {
            Ok(at) => {
                cx.record("connect", at.saturating_duration_since(reconnect.started));
                at
            }
            Err(error) => {
                cx.measure_from(reconnect.started);
                cx.transaction("connect").fail_with(&error);
                failed = true;
                continue;
            }
        };
        match reconnect.handshaken {
            Some(Ok(at)) => cx.record("tls", at.saturating_duration_since(connected)),
            Some(Err(error)) => {
                cx.measure_from(connected);
                cx.transaction("tls").fail_with(&error);
                failed = true;
            }
            None => {}
        }
    }
    failed
}

/// Counts `full` and `resumed` handshakes just made with `connector`, a bot's own (and, with
/// `--insecure`, that they went unverified). Resumed handshakes are counted though none
/// resumed when some could have (resumption on, and the bot had made a handshake before):
/// a report that says 0 tells of a server that resumes nothing, where a missing line told
/// nothing; a bot that never connected again tried no resumption, and has no line.
pub(crate) fn count_handshakes(cx: &Cx, connector: &TlsConnector, full: u64, resumed: u64) {
    if full > 0 {
        cx.count(FULL, full);
    }
    let made_before = connector.handshakes_made().saturating_sub(full + resumed);
    if resumed > 0 || (full > 0 && connector.resumes_sessions() && made_before > 0) {
        cx.count(RESUMED, resumed);
    }
    if connector.is_insecure() && full + resumed > 0 {
        cx.count(UNVERIFIED, full + resumed);
    }
}

/// `on` or `off`.
fn parse_on_off(text: &str) -> Result<bool, String> {
    match text.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("`{other}`: write on or off")),
    }
}

/// `1.2` or `1.3`.
fn parse_version(text: &str) -> Result<TlsVersion, String> {
    match text.trim().trim_start_matches(['v', 'V']) {
        "1.2" => Ok(TlsVersion::Tls12),
        "1.3" => Ok(TlsVersion::Tls13),
        other => Err(format!("`{other}`: write 1.2 or 1.3")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_and_versions_parse() {
        assert_eq!(parse_on_off("off"), Ok(false));
        assert!(parse_on_off("no").unwrap_err().contains("on or off"));
        assert_eq!(parse_version("1.3"), Ok(TlsVersion::Tls13));
        assert!(parse_version("1.1").unwrap_err().contains("1.2 or 1.3"));
    }
}
