#!/usr/bin/python3
"""A gRPC test server for ttk's tests: Debian's python3-grpcio alone, no generated code.

Messages are hand-encoded protobuf (see echo.proto beside the tests):
    message Hello { string name = 1; int32 count = 2; }
    message Reply { string message = 1; }
Run: /usr/bin/python3 grpc_echo_server.py [PORT [CERT KEY]]   (PORT 0 or absent: any free
port; with CERT and KEY, PEM files, it serves TLS)
Prints "PORT <n>" on stdout once it listens; stops on SIGTERM or when stdin closes.
"""
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "ttk.test.Echo"
CALLS = {}                      # method name -> calls received (for tests to compare)
LOCK = threading.Lock()


def count(method):
    with LOCK:
        CALLS[method] = CALLS.get(method, 0) + 1


# --- protobuf by hand: varints and length-delimited fields are all these messages need ---
def varint(n):
    n &= (1 << 64) - 1          # negative int32 is sent as 10 bytes, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def decode_hello(buf):
    """Hello{name=1 string, count=2 int32}; unknown fields skipped."""
    name, n, i = "", 0, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
            if field == 2:
                n = value
        elif wire == 2:
            length, i = read_varint(buf, i)
            if field == 1:
                name = buf[i:i + length].decode("utf-8")
            i += length
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("bad wire type %d" % wire)
    return name, n


def reply(text):
    data = text.encode("utf-8")
    return b"\x0a" + varint(len(data)) + data if data else b""


# --- the methods: each takes and returns bytes (no serializers given to grpcio) ---
def say(request, context):                            # unary
    count("Say")
    name, _ = decode_hello(request)
    md = dict(context.invocation_metadata())
    if "x-echo" in md:                                 # metadata both ways
        context.send_initial_metadata((("x-echo", md["x-echo"]),))
        context.set_trailing_metadata((("x-echo-trailer", md["x-echo"]),))
    return reply("hello " + name)


def count_to(request, context):                        # server streaming
    count("Count")
    name, n = decode_hello(request)
    for k in range(n):
        yield reply("%s %d" % (name, k))


def collect(request_iterator, context):                # client streaming
    count("Collect")
    names = [decode_hello(r)[0] for r in request_iterator]
    return reply(",".join(names))


def chat(request_iterator, context):                   # bidirectional
    count("Chat")
    for r in request_iterator:
        yield reply("hi " + decode_hello(r)[0])


def unavailable(request, context):                     # a failure status (Trailers-Only)
    count("Unavailable")
    context.abort(grpc.StatusCode.UNAVAILABLE, "down for maintenance: 100% \u00e9")


def slow(request, context):                            # sleeps past the client's deadline
    count("Slow")
    _, ms = decode_hello(request)
    time.sleep((ms or 2000) / 1000.0)
    return reply("too late")


def stats(request, context):                           # what the server saw, for the tests
    with LOCK:
        text = ",".join("%s=%d" % kv for kv in sorted(CALLS.items()))
    return reply(text)


HANDLERS = {
    "Say": grpc.unary_unary_rpc_method_handler(say),
    "Count": grpc.unary_stream_rpc_method_handler(count_to),
    "Collect": grpc.stream_unary_rpc_method_handler(collect),
    "Chat": grpc.stream_stream_rpc_method_handler(chat),
    "Unavailable": grpc.unary_unary_rpc_method_handler(unavailable),
    "Slow": grpc.unary_unary_rpc_method_handler(slow),
    "Stats": grpc.unary_unary_rpc_method_handler(stats),
}


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # Sync server: one thread per call in progress; size the pool above the test's concurrency.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, HANDLERS),))
    if len(sys.argv) > 3:
        with open(sys.argv[2], "rb") as cert, open(sys.argv[3], "rb") as key:
            credentials = grpc.ssl_server_credentials(((key.read(), cert.read()),))
        port = server.add_secure_port("127.0.0.1:%d" % port, credentials)
    else:
        port = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("PORT %d" % port, flush=True)
    try:
        sys.stdin.read()                               # the test closes stdin (or kills us)
    except KeyboardInterrupt:
        pass
    server.stop(grace=None)


if __name__ == "__main__":
    main()
