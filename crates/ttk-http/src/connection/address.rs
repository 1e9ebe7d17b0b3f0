//! Where a connection goes: the TCP connect to an authority, and the TLS server name in it.

use std::io;

use ttk_net::TcpStream;

use super::has_port;

/// Looks `authority` up (without blocking the loop) and connects to the first of its addresses
/// that accepts; `default_port` if it names none.
pub(super) async fn connect_tcp(authority: &str, default_port: u16) -> io::Result<TcpStream> {
    let addrs = if has_port(authority) {
        ttk_net::lookup_host(authority).await?
    } else {
        ttk_net::lookup_host((authority.trim_matches(['[', ']']), default_port)).await?
    };
    TcpStream::connect(addrs.as_slice()).await
}

/// The host of an authority, without its port or an IPv6 literal's brackets: the TLS server
/// name.
pub(super) fn server_name(authority: &str) -> &str {
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
    use super::server_name;

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
