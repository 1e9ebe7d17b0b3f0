//! The URL `ttk http` loads: where to connect and what to ask for.

use std::fmt;
use std::str::FromStr;

/// An `http://` or `https://` URL, cut into what a request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    /// `https`: TLS.
    pub(crate) tls: bool,
    /// `host:port` (`host` alone for port 80), to connect to and to send as `Host`.
    pub(crate) authority: String,
    /// The request target: the path and query, `/` if the URL has none.
    pub(crate) path: String,
}

impl FromStr for HttpTarget {
    type Err = String;

    fn from_str(url: &str) -> Result<HttpTarget, String> {
        let url = url.trim();
        let (tls, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("ws") => {
                return Err(format!(
                    "`{url}`: WebSocket load needs a bot (see ttk::ws in the README); \
                     ttk http sends HTTP requests"
                ));
            }
            Some((scheme, _)) => {
                return Err(format!(
                    "`{url}`: `{scheme}` is not http or https; write http://HOST[:PORT]/PATH"
                ));
            }
            None => {
                return Err(format!("`{url}` has no scheme; write http://{url}"));
            }
        };
        // The fragment is the client's own: never sent.
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(format!(
                "`{url}`: credentials in the URL are not sent; pass -H 'Authorization: …'"
            ));
        }
        check_authority(url, authority)?;
        if path
            .bytes()
            .any(|byte| byte.is_ascii_whitespace() || byte.is_ascii_control())
        {
            return Err(format!(
                "`{url}`: the path has a space or control character; percent-encode it (%20)"
            ));
        }
        Ok(HttpTarget {
            tls,
            authority: authority.to_owned(),
            path,
        })
    }
}

/// Checks `host[:port]`: a host, and a port that is a number from 1 to 65535.
fn check_authority(url: &str, authority: &str) -> Result<(), String> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        // An IPv6 literal: [::1]:8080.
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(format!("`{url}`: the IPv6 address has no closing `]`"));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{url}`: `{host}` is not an IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`{url}`: `{after}` after the IPv6 address")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!(
            "`{url}` has no host; write http://HOST[:PORT]/PATH"
        ));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(1..))
    {
        return Err(format!(
            "`{url}`: the port `{port}` is not a number from 1 to 65535"
        ));
    }
    Ok(())
}

impl HttpTarget {
    /// `host:port` to connect to: the authority, with the scheme's port if it names none.
    pub(crate) fn socket_authority(&self) -> String {
        let has_port = match self.authority.rsplit_once(':') {
            Some((host, port)) => {
                (host.starts_with('[') || !host.contains(':'))
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        };
        if has_port {
            self.authority.clone()
        } else {
            format!("{}:{}", self.authority, if self.tls { 443 } else { 80 })
        }
    }

    /// The host, without port or brackets: the TLS server name.
    pub(crate) fn host(&self) -> &str {
        let authority = self.authority.as_str();
        match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        }
    }
}

impl fmt::Display for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<(String, String), String> {
        url.parse::<HttpTarget>()
            .map(|target| (target.authority, target.path))
    }

    fn pair(authority: &str, path: &str) -> Result<(String, String), String> {
        Ok((authority.to_owned(), path.to_owned()))
    }

    #[test]
    fn urls_cut_into_authority_and_path() {
        assert_eq!(
            target("http://127.0.0.1:8080/"),
            pair("127.0.0.1:8080", "/")
        );
        assert_eq!(target("http://localhost"), pair("localhost", "/"));
        assert_eq!(
            target("HTTP://example.test/a/b?c=1#top"),
            pair("example.test", "/a/b?c=1")
        );
        assert_eq!(target("http://h:81?q"), pair("h:81", "/?q"));
        assert_eq!(target("http://[::1]:8080/x"), pair("[::1]:8080", "/x"));
        assert_eq!(target("http://[::1]/"), pair("[::1]", "/"));
    }

    #[test]
    fn https_urls_connect_to_443_by_the_host_name() {
        let target: HttpTarget = "https://example.test/a".parse().unwrap();
        assert!(target.tls);
        assert_eq!(target.socket_authority(), "example.test:443");
        assert_eq!(target.host(), "example.test");
        assert_eq!(target.to_string(), "https://example.test/a");
        let target: HttpTarget = "https://[::1]:8443/".parse().unwrap();
        assert_eq!(target.socket_authority(), "[::1]:8443");
        assert_eq!(target.host(), "::1");
        let plain: HttpTarget = "http://h".parse().unwrap();
        assert_eq!(plain.socket_authority(), "h:80");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let error = |url: &str| target(url).unwrap_err();
        assert!(error("127.0.0.1:8080/").contains("no scheme; write http://127.0.0.1:8080/"));
        assert!(error("ftp://x/").contains("`ftp` is not http"));
        assert!(error("http://:80/").contains("no host"));
        assert!(error("http://h:0/").contains("port `0`"));
        assert!(error("http://h:99999/").contains("port `99999`"));
        assert!(error("http://h:x/").contains("port `x`"));
        assert!(error("http://u:p@h/").contains("credentials"));
        assert!(error("http://[::1/").contains("closing `]`"));
        assert!(error("http://[zz]/").contains("not an IPv6 address"));
        assert!(error("http://h/a b").contains("percent-encode"));
    }
}
