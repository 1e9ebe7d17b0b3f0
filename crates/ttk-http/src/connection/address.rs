//! Where a connection goes: the TCP connect to an authority, and the TLS server name in it.

use std::io;

use ttk_net::TcpStream;

use super::has_port;

/// Looks `authority` up (without blocking the loop) and connects to the first of its addresses
/// that accepts; `default_port` if it names none.
pub(crate) async fn connect_tcp(authority: &str, default_port: u16) -> io::Result<TcpStream> {
    let addrs = if has_port(authority) {
        ttk_net::lookup_host(authority).await?
    } else {
        ttk_net::lookup_host((authority.trim_matches(['[', ']']), default_port)).await?
    };
    TcpStream::connect(addrs.as_slice()).await
}

/// An authority, or a URL cut to its authority: whether its scheme is `https`, and the
/// authority (`http://h:8080/x` → `(false, "h:8080")`).
///
/// # Errors
/// `InvalidInput` for a scheme other than `http` or `https`.
pub(crate) fn strip_scheme(target: &str) -> io::Result<(bool, &str)> {
    let Some((scheme, rest)) = target.split_once("://") else {
        return Ok((false, target));
    };
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{target}`: an HTTP connection is to http:// or https://, not {scheme}://"),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok((https, authority))
}

/// The host of an authority, without its port or an IPv6 literal's brackets: the TLS server
/// name.
pub(crate) fn server_name(authority: &str) -> &str {
    let host = if has_port(authority) {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    } else {
        authority
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::{server_name, strip_scheme};

    #[test]
    fn urls_are_cut_to_their_authority() {
        assert_eq!(strip_scheme("h:8080").unwrap(), (false, "h:8080"));
        assert_eq!(strip_scheme("http://h:8080/x").unwrap(), (false, "h:8080"));
        assert_eq!(strip_scheme("HTTPS://h?q").unwrap(), (true, "h"));
        assert!(strip_scheme("ftp://h").is_err());
    }

    #[test]
    fn the_server_name_is_the_host() {
        for (authority, name) in [
            ("example.com", "example.com"),
            ("example.com:8443", "example.com"),
            ("127.0.0.1:443", "127.0.0.1"),
            ("[::1]:8443", "::1"),
            ("[::1]", "::1"),
        ] {
            assert_eq!(server_name(authority), name, "{authority}");
        }
    }
}
