//! A lobby connection over any of its transports: length-prefixed frames on TCP (the default),
//! one WebSocket text message per frame (`--websocket`), or one reliable ENet packet per frame
//! (`--enet`: reliable UDP, as many game engines speak). The frames' text is the same.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ttk::net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
use ttk::net::{Framed, TcpListener, TcpStream};
use ttk::tls::MaybeTls;
use ttk::ws::{Message, WebSocket};

use crate::protocol::{self, Frame, invalid};

/// The longest frame, on any transport.
const MAX_FRAME: usize = 1024;
/// The ENet channel the frames go on.
const CHANNEL: u8 = 0;

/// What the lobby's frames travel on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Length-prefixed frames on TCP.
    Tcp,
    /// A WebSocket text message per frame.
    WebSocket,
    /// A reliable ENet packet per frame.
    Enet,
}

impl Transport {
    /// How the summary names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "",
            Transport::WebSocket => " (WebSocket)",
            Transport::Enet => " (ENet)",
        }
    }
}

/// One end of a lobby connection.
#[derive(Debug)]
pub(crate) enum Conn {
    /// Frames behind a big-endian `u16` length.
    Tcp(Framed),
    /// A WebSocket text message per frame.
    WebSocket(Box<WebSocket>),
    /// A reliable ENet packet per frame.
    Enet(EnetPeer),
}

/// Where the server takes players in.
#[derive(Debug)]
pub(crate) enum Listener {
    /// TCP (frames or WebSocket).
    Tcp(TcpListener, Transport),
    /// One ENet host for every player.
    Enet(EnetHost),
}

impl Listener {
    /// Listens on a free loopback port for `players` players over `transport`.
    pub(crate) fn bind(transport: Transport, players: usize) -> io::Result<Listener> {
        match transport {
            Transport::Enet => {
                let config = EnetConfig {
                    peers: players,
                    // A player that read its BYE may be gone before it acknowledges the
                    // server's disconnect (under `--net`, its last datagram leaves with it).
                    disconnect_timeout: Duration::from_millis(500),
                    ..EnetConfig::default()
                };
                Ok(Listener::Enet(EnetHost::bind("127.0.0.1:0", &config)?))
            }
            other => Ok(Listener::Tcp(TcpListener::bind("127.0.0.1:0")?, other)),
        }
    }

    /// Its address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(listener, _) => listener.local_addr(),
            Listener::Enet(host) => host.local_addr(),
        }
    }

    /// The next player's connection.
    pub(crate) async fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(listener, transport) => {
                let (stream, _) = listener.accept().await?;
                Conn::accept(stream, *transport).await
            }
            Listener::Enet(host) => Ok(Conn::Enet(host.accept().await?)),
        }
    }
}

impl Conn {
    /// A player's connection to the server at `server`.
    pub(crate) async fn connect(server: SocketAddr, transport: Transport) -> io::Result<Conn> {
        match transport {
            Transport::Enet => {
                let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
                Ok(Conn::Enet(peer))
            }
            Transport::WebSocket => {
                let ws = WebSocket::connect(&format!("ws://{server}/lobby")).await?;
                Ok(Conn::ws(ws))
            }
            Transport::Tcp => {
                let stream = TcpStream::connect(server).await?;
                stream.set_nodelay(true)?;
                Ok(Conn::Tcp(Framed::new(stream, protocol::format())))
            }
        }
    }

    /// The server's end of a TCP connection just accepted.
    async fn accept(stream: TcpStream, transport: Transport) -> io::Result<Conn> {
        stream.set_nodelay(true)?;
        if transport == Transport::WebSocket {
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
            Conn::Enet(peer) => match peer.recv().await? {
                Some(packet) if packet.data().len() > MAX_FRAME => Err(invalid(&format!(
                    "a frame of {} bytes",
                    packet.data().len()
                ))),
                Some(packet) => Frame::parse(packet.data()).map(Some),
                None => Ok(None),
            },
        }
    }

    /// Ends the connection once the peer has what was written: ENet's graceful disconnect
    /// (the peer acknowledges; a drop may cut off the last packets it has not taken yet), a
    /// close for the others.
    pub(crate) async fn close(self) -> io::Result<()> {
        match self {
            Conn::Enet(peer) => match peer.disconnect().await {
                // The peer may have left first (having read all it wanted).
                Err(error) if error.kind() == io::ErrorKind::TimedOut => Ok(()),
                other => other,
            },
            _ => Ok(()),
        }
    }

    /// Writes `frame`.
    pub(crate) async fn write(&mut self, frame: &Frame) -> io::Result<()> {
        let text = frame.to_string();
        match self {
            Conn::Tcp(framed) => framed.write_frame(text.as_bytes()).await,
            Conn::WebSocket(ws) => ws.send(Message::text(text)).await,
            Conn::Enet(peer) => peer.send(CHANNEL, text.as_bytes(), Delivery::Reliable),
        }
    }
}
