//! HTTP statuses as failure reasons, without formatting one per failed request.

use std::sync::OnceLock;

/// The reason a response of `status` fails its request (`"HTTP 503"`), for statuses from 400.
pub(crate) fn failure_reason(status: u16) -> &'static str {
    static REASONS: OnceLock<Vec<String>> = OnceLock::new();
    let reasons =
        REASONS.get_or_init(|| (400..600).map(|status| format!("HTTP {status}")).collect());
    match status {
        400..=599 => &reasons[usize::from(status - 400)],
        _ => "HTTP status out of range",
    }
}

#[cfg(test)]
mod tests {
    use super::failure_reason;

    #[test]
    fn each_status_names_itself() {
        assert_eq!(failure_reason(404), "HTTP 404");
        assert_eq!(failure_reason(599), "HTTP 599");
        assert_eq!(failure_reason(999), "HTTP status out of range");
    }
}
