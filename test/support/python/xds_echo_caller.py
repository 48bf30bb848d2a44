"""A proxyless gRPC C-core client (Debian's python3-grpcio) calling zkxds.demo.v1.Echo/Who on
xds:///<target> without pause, for end-to-end tests of what gRPC C-core sees through a change.

Run with /usr/bin/python3 (Debian's grpcio; the pyenv python3 on PATH has none). The xDS bootstrap
comes from GRPC_XDS_BOOTSTRAP_CONFIG (or GRPC_XDS_BOOTSTRAP), set by the parent.

Usage: xds_echo_caller.py <target> [deadline_ms] [pause_ms]
Prints one JSON line per event on stdout and flushes each:
  {"ready": true}                                   the channel exists; calls start
  {"ok": true, "backend": "v1-a", "at": 12.5}       a call answered (at: seconds since start)
  {"ok": false, "code": "UNAVAILABLE", "details": "...", "at": 12.6}
Stops when stdin closes (the parent went away or asked it to).
No generated stubs: WhoRequest is empty and WhoReply has one string field, decoded by hand.
"""
import json
import sys
import threading
import time

import grpc


def decode_who_reply(data):
    """WhoReply{string backend = 1}: walk the fields, keep field 1."""
    i = 0
    backend = ""
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, i = varint(data, i)
            if field == 1:
                backend = data[i:i + length].decode("utf-8")
            i += length
        elif wire == 0:
            _, i = varint(data, i)
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return backend


def varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    target = sys.argv[1]
    deadline = (int(sys.argv[2]) if len(sys.argv) > 2 else 5000) / 1000.0
    pause = (int(sys.argv[3]) if len(sys.argv) > 3 else 0) / 1000.0
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    channel = grpc.insecure_channel(f"xds:///{target}")
    who = channel.unary_unary("/zkxds.demo.v1.Echo/Who", request_serializer=lambda _: b"", response_deserializer=decode_who_reply)
    start = time.monotonic()
    emit({"ready": True})
    while not stop.is_set():
        try:
            backend = who(None, timeout=deadline)
            emit({"ok": True, "backend": backend, "at": round(time.monotonic() - start, 4)})
        except grpc.RpcError as err:
            emit({"ok": False, "code": err.code().name, "details": err.details() or "", "at": round(time.monotonic() - start, 4)})
        if pause > 0:
            stop.wait(pause)
    channel.close()


if __name__ == "__main__":
    main()
