//! ENet's view of a bot's UDP socket: rusty_enet's [`Socket`] over ttk's [`UdpSocket`] —
//! sends and receives that never wait (ENet's state machine does not), with the socket's
//! network conditions, if it has any.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use rusty_enet::{MTU_MAX, PacketReceived, Socket};

use crate::UdpSocket;

/// The socket, as ENet uses it.
#[derive(Debug)]
pub(crate) struct EnetSocket {
    /// The bot's socket (shared with the host's driver, which waits on it).
    udp: Rc<UdpSocket>,
    /// Whether the last receive found no datagram, so that waiting for the socket's next event
    /// is right (ENet stops receiving after 256 in one service, leaving some in the kernel).
    drained: bool,
    /// A failure the socket reported (an ICMP refusal), kept for the connection it ends.
    refused: bool,
    /// The peers (this host's ids of them, from each datagram's ENet header) that the current
    /// service received from, in order: a connection ENet ends in a service that heard nothing
    /// from its peer ended because the peer stopped answering, not because it disconnected.
    /// By id, not address: a host's connections to one server share its address.
    heard: Vec<u16>,
}

/// The most senders [`EnetSocket::heard`] keeps per service: ENet receives at most 256
/// datagrams in one.
const MOST_HEARD: usize = 256;
/// The bits of ENet's header that hold the peer's id (`ENET_PROTOCOL_MAXIMUM_PEER_ID`).
const PEER_ID_BITS: u16 = 0x0FFF;

impl EnetSocket {
    /// ENet's view of `udp`.
    pub(crate) fn new(udp: Rc<UdpSocket>) -> EnetSocket {
        EnetSocket {
            udp,
            drained: false,
            refused: false,
            heard: Vec::new(),
        }
    }

    /// Marks the start of a service: until its receive finds the socket empty, the socket is
    /// not known to be (a service may end before it receives, on an event).
    pub(crate) fn begin_service(&mut self) {
        self.drained = false;
        self.heard.clear();
    }

    /// Whether the current service received anything from this host's peer `peer`.
    pub(crate) fn heard_from(&self, peer: usize) -> bool {
        u16::try_from(peer).is_ok_and(|peer| self.heard.contains(&peer))
    }

    /// Whether the last receive found no datagram.
    pub(crate) fn drained(&self) -> bool {
        self.drained
    }

    /// Whether a send or receive was refused (ICMP port unreachable) since the last call.
    pub(crate) fn take_refused(&mut self) -> bool {
        std::mem::take(&mut self.refused)
    }
}

impl Socket for EnetSocket {
    type Address = SocketAddr;
    type Error = io::Error;

    fn send(&mut self, address: SocketAddr, buffer: &[u8]) -> io::Result<usize> {
        match self.udp.try_send_to(buffer, address) {
            Ok(sent) => Ok(sent),
            // ENet takes 0 as "not sent now": a reliable packet is sent again.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                self.refused = true;
                Ok(0)
            }
            Err(error) => Err(error),
        }
    }

    fn receive(
        &mut self,
        buffer: &mut [u8; MTU_MAX],
    ) -> io::Result<Option<(SocketAddr, PacketReceived)>> {
        loop {
            match self.udp.try_recv_from(buffer) {
                Ok((len, from)) => {
                    self.drained = false;
                    // ENet's header starts with the receiver's id of the peer (its low 12
                    // bits; the others are flags and a session). Looked through only when a
                    // connection ends; a peer's run of datagrams is kept once.
                    if len >= 2 {
                        let peer = u16::from_be_bytes([buffer[0], buffer[1]]) & PEER_ID_BITS;
                        if self.heard.len() < MOST_HEARD && self.heard.last() != Some(&peer) {
                            self.heard.push(peer);
                        }
                    }
                    return Ok(Some((from, PacketReceived::Complete(len))));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    return Ok(None);
                }
                // An earlier datagram was refused (ICMP): noted for the connection it ends,
                // and the socket read on.
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                    self.refused = true;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}
