//! A gRPC call, built once and sent as often as needed: [`Call`].

use std::io;
use std::time::Duration;

use super::wire::{frame, timeout_header};
use crate::request::Request;

/// A gRPC call: the method, its deadline and metadata, and the request messages, made into the
/// HTTP/2 request that carries them ([`Call::request`]).
///
/// Its messages go in the request body at once: one for unary and server-streaming calls,
/// several for client-streaming and bidirectional ones sent with [`super::call`]; a
/// bidirectional exchange that waits for a reply before sending the next message opens the
/// call as a [`super::Stream`] and sends as it goes.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_http::grpc::Call;
///
/// let call = Call::new("helloworld.Greeter/SayHello")
///     .unwrap()
///     .deadline(Duration::from_millis(200))
///     .metadata("x-player", "42")
///     .raw_message(b"\x0a\x03bob");
/// let request = call.request();
/// assert_eq!((request.method(), request.path()), ("POST", "/helloworld.Greeter/SayHello"));
/// let header = |name| request.headers().find(|(n, _)| *n == name).map(|(_, v)| v);
/// assert_eq!(header("grpc-timeout"), Some("200000u"));
/// assert_eq!(header("content-type"), Some("application/grpc"));
/// assert_eq!(header("te"), Some("trailers"));
/// assert_eq!(request.body_bytes(), b"\x00\x00\x00\x00\x05\x0a\x03bob");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `/package.Service/Method`.
    path: String,
    /// The deadline, sent as `grpc-timeout` and kept by the client too.
    deadline: Option<Duration>,
    /// Metadata: custom headers.
    metadata: Vec<(String, String)>,
    /// The messages, length-prefixed, back to back.
    body: Vec<u8>,
}

impl Call {
    /// A call of `method`: `package.Service/Method`, `/package.Service/Method` or
    /// `package.Service.Method` (as ghz takes it).
    ///
    /// # Errors
    /// `InvalidInput` if `method` names no service and method.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::grpc::Call;
    ///
    /// let a = Call::new("pkg.Echo/Say").unwrap();
    /// assert_eq!(a, Call::new("pkg.Echo.Say").unwrap());
    /// assert_eq!(a.path(), "/pkg.Echo/Say");
    /// assert!(Call::new("Say").is_err());
    /// ```
    pub fn new(method: &str) -> io::Result<Call> {
        let method = method.trim().trim_start_matches('/');
        let (service, name) = method
            .split_once('/')
            .or_else(|| method.rsplit_once('.'))
            .filter(|(service, name)| {
                !service.is_empty() && !name.is_empty() && !name.contains(['/', '.'])
            })
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "`{method}` is not a gRPC method: write package.Service/Method (or \
                         package.Service.Method)"
                    ),
                )
            })?;
        Ok(Call {
            path: format!("/{service}/{name}"),
            deadline: None,
            metadata: Vec::new(),
            body: Vec::new(),
        })
    }

    /// The HTTP/2 path, `/package.Service/Method`.
    ///
    /// # Examples
    /// See [`Call::new`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sets the deadline: sent as `grpc-timeout`, and the client gives up then too
    /// (`DEADLINE_EXCEEDED`).
    ///
    /// # Examples
    /// See [`Call`].
    pub fn deadline(mut self, limit: Duration) -> Call {
        self.deadline = Some(limit);
        self
    }

    /// The deadline, if set.
    ///
    /// # Examples
    /// `Call::new("a.B/C")?.deadline(d).deadline_limit()` is `Some(d)`.
    pub fn deadline_limit(&self) -> Option<Duration> {
        self.deadline
    }

    /// Adds metadata `name: value` (a header; names are lower case, values text; binary
    /// metadata, whose names end in `-bin`, takes the value base64-encoded).
    ///
    /// # Examples
    /// See [`Call`].
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Call {
        self.metadata
            .push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds a request message, encoded by prost.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::grpc::Call;
    ///
    /// // prost encodes a u32 wrapper as field 1, varint.
    /// let call = Call::new("pkg.Svc/M").unwrap().message(&7u32);
    /// assert_eq!(call.request().body_bytes(), b"\x00\x00\x00\x00\x02\x08\x07");
    /// ```
    pub fn message(self, message: &impl prost::Message) -> Call {
        self.raw_message(&message.encode_to_vec())
    }

    /// Adds a request message already encoded (protobuf bytes, or whatever the service
    /// reads).
    ///
    /// # Examples
    /// See [`Call`].
    pub fn raw_message(mut self, message: &[u8]) -> Call {
        // Messages over 4 GiB do not fit the prefix: such a call cannot be built in memory
        // here anyway.
        frame(message, &mut self.body).expect("a message under 4 GiB");
        self
    }

    /// The HTTP/2 request that makes the call: `POST` to [`Call::path`] with `content-type:
    /// application/grpc`, `te: trailers`, `grpc-timeout` and the metadata, the messages as
    /// its body, and the deadline as its [`Request::timeout`].
    ///
    /// # Examples
    /// See [`Call`].
    pub fn request(&self) -> Request {
        let mut request = Request::post(self.path.clone())
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header(
                "user-agent",
                concat!("grpc-rust-ttk/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(limit) = self.deadline {
            request = request
                .header("grpc-timeout", timeout_header(limit))
                .timeout(limit);
        }
        for (name, value) in &self.metadata {
            request = request.header(name.clone(), value.clone());
        }
        // The call's outcome is in its status, not in whether its request was idempotent:
        // a call cut off by a broken connection is not made again behind the caller's back.
        request.body(self.body.clone()).retry_on_reuse(false)
    }
}
