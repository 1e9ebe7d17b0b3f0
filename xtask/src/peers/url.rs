//! Splitting the bench's URL for the clients that take the host and the path apart (Locust's
//! `--host` and its locustfile's path, Goose's `--host` and its transaction's path).

/// `http://127.0.0.1:8080/close` as `("http://127.0.0.1:8080", "/close")`; a URL with no path
/// gets `/`.
pub(crate) fn host_and_path(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url.split_at(after_scheme + slash),
        None => (url, "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_starts_at_the_first_slash_after_the_authority() {
        assert_eq!(
            host_and_path("http://127.0.0.1:8080/"),
            ("http://127.0.0.1:8080", "/")
        );
        assert_eq!(
            host_and_path("https://localhost:8443/close?x=/y"),
            ("https://localhost:8443", "/close?x=/y")
        );
        assert_eq!(
            host_and_path("http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080", "/")
        );
    }
}
