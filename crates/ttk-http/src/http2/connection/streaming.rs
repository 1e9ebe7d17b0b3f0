//! Streams kept open: the bot sends data when it likes and reads the response as it comes
//! ([`Http2Connection::open`], [`Http2Connection::send_data`], [`Http2Connection::next_event`]).
//! What gRPC's streaming calls are made of.

use std::io;
use std::rc::Rc;

use bytes::Bytes;
use http::HeaderMap;

use super::{Http2Connection, MAX_RESENDS, Queued, Ticket};
use crate::http2::prepared::Prepared;
use crate::request::Request;

/// What happened on a stream opened with [`Http2Connection::open`], in order: the response's
/// head, its data as it came, then its end — or a failure, which ends it too.
#[derive(Debug)]
pub enum StreamEvent {
    /// The response's status and headers.
    Head {
        /// The status.
        status: u16,
        /// The headers.
        headers: HeaderMap,
    },
    /// Data of the response body, as it came.
    Data(Bytes),
    /// The response ended, with its trailers if any came.
    End(Option<HeaderMap>),
    /// The stream failed (reset, timed out, its connection lost): nothing follows.
    Failed(io::Error),
}

impl Http2Connection {
    /// Opens a stream for `request` and leaves the request's side open: its body (if any)
    /// goes first, then what [`Http2Connection::send_data`] sends, as the bot sends it; the
    /// response comes as [`Http2Connection::next_event`] hands it over. An opened stream is
    /// never sent again (its data went out as the bot sent it): a refusal is its failure.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::Request;
    /// use ttk_http::http2::{Http2Connection, StreamEvent};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn chat(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let addr = ttk_http::http2::hello_h2c_server()?; // answers "hello" to a request
    ///     let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
    ///     let stream = h2c.open(&Request::post("/chat"));
    ///     h2c.send_data(stream, "hi".into(), true)?;
    ///     let mut body = Vec::new();
    ///     while let Some(event) = ttk_core::yield_!(h2c.next_event(stream)) {
    ///         match event {
    ///             StreamEvent::Data(data) => body.extend_from_slice(&data),
    ///             StreamEvent::Failed(error) => return Err(error),
    ///             StreamEvent::Head { .. } | StreamEvent::End(_) => {}
    ///         }
    ///     }
    ///     Ok(body == b"hello")
    /// }
    ///
    /// assert!(ttk_core::run(1, chat)[0].as_ref().unwrap());
    /// ```
    pub fn open(&mut self, request: &Request) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let scheme = if self.target.tls.is_some() {
            "https"
        } else {
            "http"
        };
        match Prepared::new(request, scheme, &self.target.authority) {
            Ok(prepared) => self.waiting.push_back(Queued {
                ticket,
                deadline: prepared.timeout.map(|limit| ttk_core::now() + limit),
                request: Rc::new(prepared),
                resends_left: MAX_RESENDS,
                open: Some(Vec::new()),
            }),
            Err(error) => self.events.push_back((ticket, StreamEvent::Failed(error))),
        }
        Ticket(ticket)
    }

    /// Sends `data` on the stream `stream` opened with [`Http2Connection::open`]; `end` ends
    /// the request's side (an empty `data` with `end` ends it with nothing more). Sent while
    /// the bot next awaits the connection, as the flow-control windows allow.
    ///
    /// # Errors
    /// `NotConnected` if the stream ended or its request's side was ended already.
    ///
    /// # Examples
    /// See [`Http2Connection::open`].
    pub fn send_data(&mut self, stream: Ticket, data: Bytes, end: bool) -> io::Result<()> {
        let ended = || {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "HTTP/2: the stream ended, or its request's side was ended already",
            )
        };
        if let Some(&slot) = self.streams.get(&stream.0) {
            let request = self.slots[slot as usize].as_mut().ok_or_else(ended)?;
            let send = request.send.as_mut().ok_or_else(ended)?;
            let sent = send.send_data(data, end);
            if end {
                request.send = None;
            }
            // Its connection's next pass writes it.
            self.wakes.connection().wake_by_ref();
            return sent.map_err(|error| super::h2_error(&error));
        }
        // Not opened yet: waiting its turn (the server's stream limit, a new connection).
        let queued = self
            .waiting
            .iter_mut()
            .find(|queued| queued.ticket == stream.0)
            .ok_or_else(ended)?;
        let later = queued.open.as_mut().ok_or_else(ended)?;
        if later.last().is_some_and(|(_, end)| *end) {
            return Err(ended());
        }
        later.push((data, end));
        Ok(())
    }

    /// Abandons the stream `stream` opened with [`Http2Connection::open`]: reset (CANCEL) if
    /// it was opened, dropped if it waits its turn, its events not yet taken dropped. A stream
    /// left unfinished holds one of the server's concurrent streams until it is reset.
    ///
    /// # Examples
    /// `h2.reset(stream)` after a bot gives up on a call; see [`Http2Connection::open`].
    pub fn reset(&mut self, stream: Ticket) {
        if let Some(at) = self
            .waiting
            .iter()
            .position(|queued| queued.ticket == stream.0)
        {
            self.waiting.remove(at);
        }
        if let Some(slot) = self.streams.remove(&stream.0)
            && let Some(request) = self.slots[slot as usize].take()
        {
            // Dropping its handles makes h2 reset it; the connection's next pass sends that.
            drop(request);
            self.in_flight -= 1;
            self.free.push(slot);
            self.wakes.connection().wake_by_ref();
        }
        self.events.retain(|(ticket, _)| *ticket != stream.0);
    }

    /// Awaits the next event of the stream `stream` (events of other streams wait for their
    /// own calls); `None` once it ended and its events were all taken.
    ///
    /// # Examples
    /// See [`Http2Connection::open`].
    pub async fn next_event(&mut self, stream: Ticket) -> Option<StreamEvent> {
        loop {
            if let Some(at) = self.events.iter().position(|(t, _)| *t == stream.0) {
                return self.events.remove(at).map(|(_, event)| event);
            }
            let alive = self.streams.contains_key(&stream.0)
                || self.waiting.iter().any(|queued| queued.ticket == stream.0);
            if !alive {
                return None;
            }
            self.drive(None).await;
        }
    }
}
