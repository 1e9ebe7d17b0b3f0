//! Following a redirect (see [`Request::follow_redirects`]).

use std::io;

use super::HttpConnection;
use crate::error::invalid;
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
        let path = match location.split_once("://") {
            None if location.starts_with('/') && !location.starts_with("//") => location,
            None => {
                return Err(invalid(format_args!(
                    "a redirect to {location:?}, which is not a path from the root: not followed"
                )));
            }
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                if !scheme.eq_ignore_ascii_case("http")
                    || !authority.eq_ignore_ascii_case(&self.host)
                {
                    return Err(invalid(format_args!(
                        "a redirect to {location}, off this connection's host {}: not followed \
                         (a connection follows redirects on its own host)",
                        self.host
                    )));
                }
                if path.is_empty() { "/" } else { path }
            }
        };
        Ok(Some(original.redirected(status, path)))
    }
}
