# A proxyless gRPC client built on gRPC C-core (Debian's python3-grpcio), for the end-to-end tests:
# dials xds:///<target> with the bootstrap in GRPC_XDS_BOOTSTRAP_CONFIG and calls
# zkxds.demo.v1.Echo/Who back to back for <seconds>, then prints one JSON line
# {"ok": N, "failed": N, "backends": {id: n}, "errors": {"<code>: <details>": n}} and exits 0.
# A crash of C-core shows as the process dying by a signal, with no line printed.
# Run with /usr/bin/python3 (the Debian interpreter that has python3-grpcio), not a pyenv one.
import json
import sys
import time

import grpc


def backend_of(reply: bytes) -> str:
    # WhoReply { string backend = 1; }: tag 0x0a, a one-byte length (ids are short), the UTF-8 bytes.
    if len(reply) < 2 or reply[0] != 0x0A:
        return "?"
    return reply[2 : 2 + reply[1]].decode("utf-8", "replace")


def main() -> None:
    target, seconds, deadline = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    channel = grpc.insecure_channel(f"xds:///{target}")
    who = channel.unary_unary("/zkxds.demo.v1.Echo/Who", request_serializer=lambda _: b"", response_deserializer=lambda b: b)
    ok, failed, backends, errors = 0, 0, {}, {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            backend = backend_of(who(None, timeout=deadline))
            ok += 1
            backends[backend] = backends.get(backend, 0) + 1
        except grpc.RpcError as err:
            failed += 1
            key = f"{err.code().name}: {err.details()}"
            errors[key] = errors.get(key, 0) + 1
    print(json.dumps({"ok": ok, "failed": failed, "backends": backends, "errors": errors}), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
