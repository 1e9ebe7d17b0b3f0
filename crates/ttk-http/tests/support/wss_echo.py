"""A wss:// echo server for ttk's tests, on Python's `websockets` library (no one here wrote
it) with the standard library's ssl.

Usage: wss_echo.py CERT KEY PORT. Prints "ready" once listening, then after each connection
closes "closed CONNECTIONS MESSAGES": the connections closed and the messages echoed so far.
"""

import asyncio
import ssl
import sys

import websockets

echoed = 0
closed = 0


async def echo(connection):
    global echoed, closed
    try:
        async for message in connection:
            await connection.send(message)
            echoed += 1
    finally:
        closed += 1
        print(f"closed {closed} {echoed}", flush=True)


async def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(echo, "127.0.0.1", int(sys.argv[3]), ssl=context, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


asyncio.run(main())
