//! The command line as the report records it: as typed, with secrets taken out (the values of
//! credential headers such as `Authorization` and `Cookie`, a password in a URL, credential
//! query parameters), since reports are kept and shared.

/// What a secret's value is replaced with.
const REDACTED: &str = "[redacted]";

use ttk::harness::is_secret_name;
pub(crate) use ttk::harness::redact_url;

/// `args` (the first is the program's name) with the secrets in them replaced.
pub(crate) fn redacted_command_line(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut header_next = false;
    let mut token_next = false;
    for arg in args {
        let arg = if header_next {
            header_next = false;
            redact_header(arg)
        } else if token_next {
            token_next = false;
            REDACTED.to_owned()
        } else if arg == "--dashboard-token" {
            token_next = true;
            arg.clone()
        } else if arg.starts_with("--dashboard-token=") {
            format!("--dashboard-token={REDACTED}")
        } else if arg == "-H" || arg == "--header" {
            header_next = true;
            arg.clone()
        } else if let Some(header) = arg.strip_prefix("--header=") {
            format!("--header={}", redact_header(header))
        } else if let Some(header) = arg.strip_prefix("-H").filter(|rest| !rest.starts_with('-')) {
            format!("-H{}", redact_header(header))
        } else if arg.contains("://") {
            redact_url(arg)
        } else {
            arg.clone()
        };
        out.push(arg);
    }
    out
}

/// `Name: value`, with the value replaced if the name is a credential's.
fn redact_header(header: &str) -> String {
    match header.split_once(':') {
        Some((name, _)) if is_secret_name(name.trim()) => format!("{name}: {REDACTED}"),
        _ => header.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &[&str]) -> Vec<String> {
        line.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn the_dashboard_token_is_taken_out() {
        let typed: Vec<String> = [
            "ttk",
            "http",
            "u",
            "--dashboard-token",
            "s3cret",
            "--dashboard-token=s3cret",
        ]
        .map(String::from)
        .to_vec();
        let redacted = redacted_command_line(&typed).join(" ");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(redacted.contains("--dashboard-token [redacted] --dashboard-token=[redacted]"));
    }

    #[test]
    fn credential_headers_lose_their_values_in_every_spelling() {
        let typed = words(&[
            "ttk",
            "http",
            "http://127.0.0.1/",
            "-H",
            "Authorization: Bearer abc",
            "--header",
            "cookie: id=7",
            "--header=X-Api-Key: k1",
            "-HX-Auth-Token:t2",
            "-H",
            "Accept: text/html",
        ]);
        let recorded = redacted_command_line(&typed);
        assert_eq!(
            recorded,
            words(&[
                "ttk",
                "http",
                "http://127.0.0.1/",
                "-H",
                "Authorization: [redacted]",
                "--header",
                "cookie: [redacted]",
                "--header=X-Api-Key: [redacted]",
                "-HX-Auth-Token: [redacted]",
                "-H",
                "Accept: text/html",
            ])
        );
        let all = recorded.join(" ");
        for secret in ["abc", "id=7", "k1", "t2"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
    }
}
