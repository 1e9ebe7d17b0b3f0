//! A streaming call kept open: [`Stream`], for bidirectional calls that answer as they go.

use std::io;

use bytes::Bytes;
use http::HeaderMap;

use super::call::Call;
use super::code::Code;
use super::reply::{status, status_error};
use super::wire::frame;
use crate::http2::{Http2Connection, Http2Response, StreamEvent, Ticket};

/// A gRPC call whose stream stays open: the bot sends messages when it likes
/// ([`Stream::send`]), reads the replies as they come ([`Stream::recv`]) and ends its side
/// when done ([`Stream::finish`]). A bidirectional call that waits for each reply before its
/// next message is made this way; [`super::call`] sends every message at once instead.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
/// use ttk_http::grpc::{self, Call, Code};
/// use ttk_http::http2::Http2Connection;
/// use ttk_net::TcpListener;
///
/// #[bot(crate = ttk_core)]
/// fn silent(_cx: Cx, _id: usize) -> std::io::Result<Option<Code>> {
///     // A server that accepts and never answers: the deadline ends the call.
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let url = format!("http://{}/", listener.local_addr()?);
///     let mut h2c = ttk_core::yield_!(Http2Connection::connect(&url))?;
///     let call = Call::new("chat.Room/Talk")?.deadline(Duration::from_millis(50));
///     let mut stream = grpc::Stream::open(&mut h2c, &call);
///     stream.send(&mut h2c, &1u32)?;
///     let error = ttk_core::yield_!(stream.recv::<u32>(&mut h2c)).unwrap_err();
///     Ok(grpc::code_of(&error))
/// }
///
/// assert_eq!(ttk_core::run(1, silent).remove(0).unwrap(), Some(Code::DeadlineExceeded));
/// ```
#[derive(Debug)]
pub struct Stream {
    /// The HTTP/2 stream.
    ticket: Ticket,
    /// The call (its deadline names a timeout `DEADLINE_EXCEEDED`).
    call: Call,
    /// The response's status and headers, once they came.
    head: Option<(u16, HeaderMap)>,
    /// Reply bytes received and not yet made into messages.
    received: Vec<u8>,
    /// Whether the call ended (its status read, or failed).
    ended: bool,
    /// Whether it ended in a failure (already handed out): later reads fail too.
    failed: bool,
}

impl Stream {
    /// Opens `call` on `connection`: its headers, and any messages it holds already, go out
    /// while the bot next awaits the connection; its side stays open.
    ///
    /// # Examples
    /// See [`Stream`].
    pub fn open(connection: &mut Http2Connection, call: &Call) -> Stream {
        Stream {
            ticket: connection.open(&call.request()),
            call: call.clone(),
            head: None,
            received: Vec::new(),
            ended: false,
            failed: false,
        }
    }

    /// Sends one request message, encoded by prost.
    ///
    /// # Errors
    /// `NotConnected` once the call ended or [`Stream::finish`] was called.
    ///
    /// # Examples
    /// See [`Stream`].
    pub fn send(
        &mut self,
        connection: &mut Http2Connection,
        message: &impl prost::Message,
    ) -> io::Result<()> {
        self.send_raw(connection, &message.encode_to_vec())
    }

    /// Sends one request message already encoded.
    ///
    /// # Errors
    /// As [`Stream::send`].
    ///
    /// # Examples
    /// See [`Stream`].
    pub fn send_raw(&mut self, connection: &mut Http2Connection, message: &[u8]) -> io::Result<()> {
        let mut framed = Vec::with_capacity(message.len() + 5);
        frame(message, &mut framed)?;
        connection.send_data(self.ticket, Bytes::from(framed), false)
    }

    /// Abandons the call: its stream is reset (CANCEL), and what came for it is dropped. A
    /// call dropped without [`Stream::finish`] and its end, or this, holds one of the
    /// server's concurrent streams.
    ///
    /// # Examples
    /// `stream.cancel(&mut h2)` when a bot gives up on a call; see [`Stream`].
    pub fn cancel(&mut self, connection: &mut Http2Connection) {
        connection.reset(self.ticket);
        self.ended = true;
        self.failed = true;
        self.received.clear();
    }

    /// Ends the bot's side: no more messages (the server's replies may go on).
    ///
    /// # Errors
    /// As [`Stream::send`].
    ///
    /// # Examples
    /// See [`Stream`].
    pub fn finish(&mut self, connection: &mut Http2Connection) -> io::Result<()> {
        connection.send_data(self.ticket, Bytes::new(), true)
    }

    /// Awaits the next reply message, decoded; `None` when the call ended with status OK.
    ///
    /// # Errors
    /// A status other than OK, named by its code; the deadline passing is
    /// `DEADLINE_EXCEEDED`; `InvalidData` for a message that does not decode as `M`.
    ///
    /// # Examples
    /// See [`Stream`].
    pub async fn recv<M: prost::Message + Default>(
        &mut self,
        connection: &mut Http2Connection,
    ) -> io::Result<Option<M>> {
        let Some(bytes) = self.recv_raw(connection).await? else {
            return Ok(None);
        };
        M::decode(bytes.as_slice()).map(Some).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("gRPC: a reply message does not decode: {error}"),
            )
        })
    }

    /// Awaits the next reply message, encoded; `None` when the call ended with status OK.
    ///
    /// # Errors
    /// As [`Stream::recv`], but for decoding.
    ///
    /// # Examples
    /// See [`Stream`].
    pub async fn recv_raw(
        &mut self,
        connection: &mut Http2Connection,
    ) -> io::Result<Option<Vec<u8>>> {
        loop {
            if self.failed {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "gRPC: the call failed or was cancelled already",
                ));
            }
            if let Some(message) = self.take_message().inspect_err(|_| self.failed = true)? {
                return Ok(Some(message));
            }
            if self.ended {
                if !self.received.is_empty() {
                    self.received.clear();
                    return Err(status_error(
                        Code::Internal,
                        "the reply ends inside a message",
                    ));
                }
                return Ok(None);
            }
            match connection.next_event(self.ticket).await {
                Some(StreamEvent::Head { status, headers }) => {
                    if status != 200 {
                        // Not a gRPC reply (a proxy's error page): its HTTP status says what.
                        self.head = Some((status, headers));
                        self.ended = true;
                        self.failed = true;
                        return Err(self.check_status(None).unwrap_err());
                    }
                    self.head = Some((status, headers));
                }
                Some(StreamEvent::Data(data)) => self.received.extend_from_slice(&data),
                Some(StreamEvent::End(trailers)) => {
                    self.ended = true;
                    self.check_status(trailers)
                        .inspect_err(|_| self.failed = true)?;
                }
                Some(StreamEvent::Failed(error)) => {
                    self.ended = true;
                    self.failed = true;
                    return Err(super::local_failure(&self.call, error));
                }
                None => self.ended = true,
            }
        }
    }

    /// The first whole message received, taken out.
    fn take_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(prefix) = self.received.get(..5) else {
            return Ok(None);
        };
        if prefix[0] != 0 {
            return Err(status_error(
                Code::Internal,
                "the reply has a compressed message, and none was asked for",
            ));
        }
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        if self.received.len() < 5 + len {
            return Ok(None);
        }
        let message = self.received[5..5 + len].to_vec();
        self.received.drain(..5 + len);
        Ok(Some(message))
    }

    /// The call's status, from the trailers that ended it (or its head, for a trailers-only
    /// reply): `Err` unless OK.
    fn check_status(&mut self, trailers: Option<HeaderMap>) -> io::Result<()> {
        let (status_code, headers) = self.head.take().unwrap_or((200, HeaderMap::new()));
        let response = Http2Response {
            status: status_code,
            headers,
            body: Vec::new(),
            body_len: 0,
            trailers,
        };
        let (code, message) = status(&response);
        if code != Code::Ok {
            return Err(status_error(code, &message));
        }
        // Whole messages left are handed out before the end; a cut one is an error then.
        Ok(())
    }
}
