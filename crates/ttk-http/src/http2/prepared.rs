//! A [`Request`] in HTTP/2's terms, made once and sent as often as needed.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};

use crate::request::Request;

/// A request as h2 takes it: method, URI with scheme and authority (HTTP/2's pseudo-headers),
/// headers without HTTP/1.1's connection headers, and the body.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The method.
    method: Method,
    /// `scheme://authority/path?query`.
    uri: Uri,
    /// The headers.
    headers: HeaderMap,
    /// The body (shared, not copied, each time the request is sent).
    pub(crate) body: Bytes,
    /// Whether the body of the response is counted and dropped.
    pub(crate) discard_body: bool,
    /// The request's time limit.
    pub(crate) timeout: Option<Duration>,
    /// Whether it may be sent again after the connection broke before an answer (the
    /// request's idempotence: see [`Request::retries_on_reuse`]).
    pub(crate) resend_if_broken: bool,
}

/// Headers that say something about one HTTP/1.1 connection: HTTP/2 forbids them (RFC 9113,
/// section 8.2.2), and `host` is the `:authority` pseudo-header instead.
const CONNECTION_HEADERS: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

impl Prepared {
    /// `request` to `scheme://authority`.
    ///
    /// # Errors
    /// `InvalidInput` if the method, path, a header name or value is not valid HTTP/2.
    pub(crate) fn new(request: &Request, scheme: &str, authority: &str) -> io::Result<Prepared> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let method = Method::from_bytes(request.method().as_bytes())
            .map_err(|_| invalid(format!("`{}` is not a method", request.method())))?;
        let path = if request.path().is_empty() {
            "/"
        } else {
            request.path()
        };
        let uri = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query(path)
            .build()
            .map_err(|error| invalid(format!("`{scheme}://{authority}{path}`: {error}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in request.headers() {
            let lower = name.to_ascii_lowercase();
            // `te` is allowed with one value only (RFC 9113, section 8.2.2).
            let te_not_trailers = lower == "te" && !value.eq_ignore_ascii_case("trailers");
            if CONNECTION_HEADERS.contains(&lower.as_str()) || te_not_trailers {
                continue;
            }
            let name = HeaderName::from_bytes(lower.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of `{name}` is not a header value")))?;
            headers.append(name, value);
        }
        Ok(Prepared {
            method,
            uri,
            headers,
            body: Bytes::copy_from_slice(request.body_bytes()),
            discard_body: request.discards_body(),
            timeout: request.timeout_limit(),
            resend_if_broken: request.retries_on_reuse(),
        })
    }

    /// The request's head, for h2 to send.
    pub(crate) fn head(&self) -> http::Request<()> {
        let mut head = http::Request::new(());
        *head.method_mut() = self.method.clone();
        *head.uri_mut() = self.uri.clone();
        *head.headers_mut() = self.headers.clone();
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_headers_are_left_out_and_names_lowered() {
        let request = Request::post("/x?y=1")
            .header("Host", "elsewhere")
            .header("Connection", "close")
            .header("TE", "gzip")
            .header("X-Trace", "abc")
            .body("hi");
        let prepared = Prepared::new(&request, "https", "example.test:8443").unwrap();
        let head = prepared.head();
        assert_eq!(head.method(), Method::POST);
        assert_eq!(head.uri(), "https://example.test:8443/x?y=1");
        let names: Vec<_> = head.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-trace"]);
        assert_eq!(&prepared.body[..], b"hi");
        assert!(!prepared.resend_if_broken, "POST is not idempotent");
    }

    #[test]
    fn bad_values_are_named() {
        let request = Request::get("/").header("X-Bad", "a\u{1}b");
        let error = Prepared::new(&request, "http", "h").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("x-bad"), "{error}");
    }
}
