"""ttk's QUIC test peer, on aioquic (a QUIC stack no one here wrote).

Echoes bidirectional streams and datagrams; counts the bytes of unidirectional streams.
Arguments: CERT KEY ALPN [MODES], MODES a comma-separated list of:
  tickets      resume TLS sessions (it issues and takes back tickets);
  nodatagrams  take no QUIC datagrams;
  push         open a unidirectional stream to each client, with 3000 bytes, then its end;
  idle1        end a connection idle for 1 s (the default here: 10 s).
Prints "ready PORT"; when its standard input closes, waits for its connections' ends, prints
its counts as one JSON line and exits."""
import asyncio
import json
import sys

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import stream_is_unidirectional
from aioquic.quic.events import (ConnectionTerminated, DatagramFrameReceived,
                                 HandshakeCompleted, StreamDataReceived)

PUSHED = 3000
counts = dict.fromkeys(["handshakes", "resumed", "bi_streams", "bi_bytes", "uni_streams",
                        "uni_bytes", "datagrams", "closed"], 0)
tickets = {}
modes = set()


live = [0]  # connections not yet terminated


class Echo(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        live[0] += 1

    def quic_event_received(self, event):
        if isinstance(event, HandshakeCompleted):
            counts["handshakes"] += 1
            counts["resumed"] += int(event.session_resumed)
            if "push" in modes:
                stream = self._quic.get_next_available_stream_id(is_unidirectional=True)
                self._quic.send_stream_data(stream, b"p" * PUSHED, end_stream=True)
        elif isinstance(event, StreamDataReceived):
            kind = "uni" if stream_is_unidirectional(event.stream_id) else "bi"
            counts[kind + "_bytes"] += len(event.data)
            counts[kind + "_streams"] += int(event.end_stream)
            if kind == "bi":
                self._quic.send_stream_data(event.stream_id, event.data, event.end_stream)
        elif isinstance(event, DatagramFrameReceived):
            counts["datagrams"] += 1
            self._quic.send_datagram_frame(event.data)
        elif isinstance(event, ConnectionTerminated):
            live[0] -= 1
            counts["closed"] += 1
            # By the code a client's application close (no frame type) carried.
            if event.frame_type is None:
                key = "closed_with_%d" % event.error_code
                counts[key] = counts.get(key, 0) + 1
        self.transmit()


async def main(cert, key, alpn, mode_list=""):
    modes.update(filter(None, mode_list.split(",")))
    config = QuicConfiguration(
        is_client=False, alpn_protocols=[alpn],
        idle_timeout=1.0 if "idle1" in modes else 10.0,
        max_datagram_frame_size=None if "nodatagrams" in modes else 65536)
    config.load_cert_chain(cert, key)
    resume = {}
    if "tickets" in modes:
        resume = {"session_ticket_handler": lambda t: tickets.__setitem__(t.ticket, t),
                  "session_ticket_fetcher": lambda label: tickets.pop(label, None)}
    server = await serve("127.0.0.1", 0, configuration=config, create_protocol=Echo, **resume)
    print("ready", server._transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    # A connection closed by its client ends after QUIC's draining period (three probe
    # timeouts): its end is waited for, up to 5 s.
    for _ in range(100):
        if live[0] <= 0:
            break
        await asyncio.sleep(0.05)
    server.close()
    print(json.dumps(counts), flush=True)


asyncio.run(main(*sys.argv[1:]))
