//! Following a redirect (see [`Request::follow_redirects`]) to where its `Location` leads on
//! the same host, relative references resolved against the redirected request's path.

use std::io;

use super::HttpConnection;
use crate::error::invalid;
use crate::location;
use crate::request::Request;
use crate::response::Response;

impl HttpConnection {
    /// The request that follows the response just received, if it is a redirect that
    /// `original` asks to follow and `hops` were followed so far.
    pub(super) fn redirect(&self, original: &Request, hops: u8) -> io::Result<Option<Request>> {
        let status = self.head.status;
        if original.redirect_limit() == 0 || !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(None);
        }
        let response = Response::new(&self.read_buf, &self.head);
        let Some(location) = response.header("location") else {
            return Ok(None);
        };
        if hops >= original.redirect_limit() {
            return Err(invalid(format_args!(
                "more than {} redirects (the last to {location})",
                original.redirect_limit()
            )));
        }
        let resolved = location::resolve(original.path(), location);
        // The connection's own scheme: an https connection follows https redirects.
        let (scheme, default_port) = if self.tls.is_some() {
            ("https", 443)
        } else {
            ("http", 80)
        };
        let scheme_ok = resolved
            .scheme
            .is_none_or(|given| given.eq_ignore_ascii_case(scheme));
        // The host the request named: its own `Host` header, or the connection's.
        let host = original
            .headers()
            .find(|(name, _)| name.eq_ignore_ascii_case("host"))
            .map_or(self.host.as_str(), |(_, value)| value);
        if !scheme_ok {
            return Err(invalid(format_args!(
                "a redirect to {location}, off this connection's scheme {scheme}: not followed \
                 (a connection follows redirects on its own scheme and host)"
            )));
        }
        if resolved
            .authority
            .is_some_and(|a| !same_host(a, host, default_port))
        {
            return Err(invalid(format_args!(
                "a redirect to {location}, off this connection's host {host}: not followed (a \
                 connection follows redirects on its own host)"
            )));
        }
        Ok(Some(original.redirected(status, &resolved.target)))
    }
}

/// Whether two authorities name the same host and port (case aside; the scheme's
/// `default_port` written or not).
fn same_host(a: &str, b: &str, default_port: u16) -> bool {
    let suffix = format!(":{default_port}");
    let bare = |authority: &str| -> String {
        let lower = authority.to_ascii_lowercase();
        match lower.strip_suffix(suffix.as_str()) {
            Some(host) => host.to_owned(),
            None => lower,
        }
    };
    bare(a) == bare(b)
}

#[cfg(test)]
mod tests {
    use super::same_host;

    #[test]
    fn the_default_port_and_case_do_not_matter() {
        assert!(same_host("Example.test:80", "example.test", 80));
        assert!(same_host("example.test:443", "example.test", 443));
        assert!(!same_host("example.test:443", "example.test", 80));
        assert!(same_host("127.0.0.1:8080", "127.0.0.1:8080", 80));
        assert!(!same_host("127.0.0.1:8080", "127.0.0.1", 80));
        assert!(!same_host("a.test", "b.test", 80));
    }
}
