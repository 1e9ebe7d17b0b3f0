//! A lobby connection over either transport: length-prefixed frames on TCP (the default), or
//! one WebSocket text message per frame (`--websocket`). The frames' text is the same.

use std::io;
use std::net::SocketAddr;

use ttk::net::{Framed, TcpStream};
use ttk::tls::MaybeTls;
use ttk::ws::{Message, WebSocket};

use crate::protocol::{self, Frame, invalid};

/// The longest frame, on either transport.
const MAX_FRAME: usize = 1024;

/// One end of a lobby connection.
#[derive(Debug)]
pub(crate) enum Conn {
    /// Frames behind a big-endian `u16` length.
    Tcp(Framed),
    /// A WebSocket text message per frame.
    WebSocket(Box<WebSocket>),
}

impl Conn {
    /// A player's connection to the server at `server`.
    pub(crate) async fn connect(server: SocketAddr, websocket: bool) -> io::Result<Conn> {
        if websocket {
            let ws = WebSocket::connect(&format!("ws://{server}/lobby")).await?;
            return Ok(Conn::ws(ws));
        }
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        Ok(Conn::Tcp(Framed::new(stream, protocol::format())))
    }

    /// The server's end of a connection just accepted.
    pub(crate) async fn accept(stream: TcpStream, websocket: bool) -> io::Result<Conn> {
        stream.set_nodelay(true)?;
        if websocket {
            // Plain TCP, in the type a client's `WebSocket::connect` returns (ws:// or wss://).
            return Ok(Conn::ws(WebSocket::accept(MaybeTls::Plain(stream)).await?));
        }
        Ok(Conn::Tcp(Framed::new(stream, protocol::format())))
    }

    /// `ws` with the lobby's frame limit.
    fn ws(mut ws: WebSocket) -> Conn {
        ws.set_max_message_len(MAX_FRAME);
        Conn::WebSocket(Box::new(ws))
    }

    /// The next frame; `None` if the peer hung up.
    pub(crate) async fn read(&mut self) -> io::Result<Option<Frame>> {
        match self {
            Conn::Tcp(framed) => framed.read_frame().await?.map(Frame::parse).transpose(),
            Conn::WebSocket(ws) => loop {
                match ws.receive().await {
                    Ok(Message::Text(text)) => return Frame::parse(text.as_bytes()).map(Some),
                    Ok(Message::Close(_)) => return Ok(None),
                    Ok(Message::Ping(_) | Message::Pong(_)) => {}
                    Ok(other) => return Err(invalid(&format!("{other:?} instead of a frame"))),
                    Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(error) => return Err(error),
                }
            },
        }
    }

    /// Writes `frame`.
    pub(crate) async fn write(&mut self, frame: &Frame) -> io::Result<()> {
        let text = frame.to_string();
        match self {
            Conn::Tcp(framed) => framed.write_frame(text.as_bytes()).await,
            Conn::WebSocket(ws) => ws.send(Message::text(text)).await,
        }
    }
}
