//! Secrets kept out of what a run records: reports are kept and shared, so the command line
//! they hold loses the values of credentials — a password in a URL, credential query parameters,
//! header values such as `Authorization` and `Cookie`.

/// What a secret's value is replaced with.
const REDACTED: &str = "[redacted]";

/// A URL with its password and the values of credential query parameters replaced.
///
/// # Examples
/// ```
/// use ttk::harness::redact_url;
///
/// assert_eq!(
///     redact_url("https://ann:hunter2@example.test/push?api_key=k&x=1"),
///     "https://ann:[redacted]@example.test/push?api_key=[redacted]&x=1"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
            // A user alone is often a token (`https://TOKEN@host/`): it goes too.
            None => format!("{REDACTED}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether a header or query parameter of this name carries a credential.
///
/// # Examples
/// ```
/// use ttk::harness::is_secret_name;
///
/// assert!(is_secret_name("Authorization"));
/// assert!(is_secret_name("X-Api-Key"));
/// assert!(!is_secret_name("Accept"));
/// ```
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let exact = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    let parts = [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "api-key",
        "api_key",
        "auth",
        "session",
        "signature",
        "credential",
    ];
    exact.contains(&name.as_str()) || parts.iter().any(|part| name.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_passwords_and_credential_parameters() {
        assert_eq!(
            redact_url("https://ann:hunter2@example.test:8443/a?x=1&access_token=zz&b=2#top"),
            "https://ann:[redacted]@example.test:8443/a?x=1&access_token=[redacted]&b=2#top"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/search?q=shoes"),
            "http://127.0.0.1:8080/search?q=shoes"
        );
        assert_eq!(
            redact_url("https://ghp_abc123@git.example/repo"),
            "https://[redacted]@git.example/repo"
        );
    }
}
