//! `HOST:PORT` on the command line of `ttk tcp` and `ttk udp`, checked before the run.

/// Checks `HOST:PORT` (a name, an IPv4 address or `[IPv6]`, and a port from 1 to 65535) and
/// gives it back as it was written.
pub(crate) fn parse_host_port(text: &str) -> Result<String, String> {
    let text = text.trim();
    let example = "write HOST:PORT, e.g. 127.0.0.1:6379 or [::1]:6379";
    let port = if let Some(bracketed) = text.strip_prefix('[') {
        let Some((v6, after)) = bracketed.split_once(']') else {
            return Err(format!("`{text}`: the IPv6 address has no closing `]`"));
        };
        // A zone (`%eth0`) names the interface of a link-local address.
        let address = v6.split('%').next().unwrap_or_default();
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{text}`: `{v6}` is not an IPv6 address"));
        }
        match after.strip_prefix(':') {
            Some(port) => port,
            None if after.is_empty() => return Err(format!("`{text}` has no port; {example}")),
            None => {
                return Err(format!(
                    "`{text}`: `{after}` after the IPv6 address; {example}"
                ));
            }
        }
    } else {
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(format!("`{text}` has no port; {example}"));
        };
        if host.is_empty() {
            return Err(format!("`{text}` has no host; {example}"));
        }
        if host.contains(':') {
            return Err(format!(
                "`{text}`: put an IPv6 address in brackets; {example}"
            ));
        }
        port
    };
    match port.parse::<u16>() {
        Ok(1..) => Ok(text.to_owned()),
        _ => Err(format!(
            "`{text}`: the port `{port}` is not a number from 1 to 65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_host_port;

    #[test]
    fn addresses_need_a_host_and_a_port() {
        for good in [
            "127.0.0.1:6379",
            "localhost:7",
            "[::1]:9000",
            "[fe80::1%eth0]:80",
        ] {
            assert_eq!(parse_host_port(good).as_deref(), Ok(good));
        }
        let error = |text| parse_host_port(text).unwrap_err();
        assert!(error("127.0.0.1").contains("has no port"));
        assert!(error(":80").contains("has no host"));
        assert!(error("h:0").contains("port `0`"));
        assert!(error("h:http").contains("port `http`"));
        assert!(error("::1:80").contains("in brackets"));
        assert!(error("[zz]:80").contains("not an IPv6 address"));
        assert!(error("[::1]").contains("has no port"));
        assert!(error("[::1").contains("no closing"));
    }
}
