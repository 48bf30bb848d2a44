"""A real kazoo client writing Apache Dubbo 2.x interface-level registrations, for integration tests.

Reads its spec (JSON) from env ZKXDS_REGISTRAR_SPEC, writes the nodes, prints REGISTERED, and keeps
its session (so the ephemeral provider nodes) until stdin closes. Digest credentials, when needed,
come in env ZKXDS_REGISTRAR_DIGEST (never on the command line); the nodes are then CREATOR_ALL_ACL.

Spec: {"connect": "127.0.0.1:2181", "root": "/dubbo",
       "providers": [{"interface": "org.x.Greeter", "protocol": "dubbo", "host": "127.0.0.1",
                      "port": 20880, "params": [["group", "g1"], ["flag", null]]}],
       "consumers": [{"interface": "org.x.Greeter", "host": "10.0.0.5",
                      "params": [["application", "shop"], ["category", "consumers"], ["side", "consumer"]]}],
       "extra": ["/dubbo/org.x.Greeter/consumers/...", ...]}   # persistent nodes beside providers
A param whose value is null is written as a bare key (`&flag`), as some registrars do.
"""
import json
import os
import sys
from urllib.parse import quote

from kazoo.client import KazooClient
from kazoo.security import CREATOR_ALL_ACL


def provider_url(p):
    query = "&".join(k if v is None else f"{quote(k, safe='')}={quote(str(v), safe=',.-_*:')}" for k, v in p["params"])
    return f"{p['protocol']}://{p['host']}:{p['port']}/{p['interface']}?{query}"


def main():
    spec = json.loads(os.environ["ZKXDS_REGISTRAR_SPEC"])
    digest = os.environ.get("ZKXDS_REGISTRAR_DIGEST")
    kwargs = {}
    if digest:
        kwargs = {"auth_data": [("digest", digest)], "default_acl": CREATOR_ALL_ACL}
    zk = KazooClient(hosts=spec["connect"], timeout=10.0, **kwargs)
    zk.start(timeout=15)
    root = spec.get("root", "/dubbo")
    for p in spec["providers"]:
        parent = f"{root}/{p['interface']}/providers"
        zk.ensure_path(parent)
        # Dubbo writes the URL-encoded provider URL as the node name and the IP as data.
        zk.create(f"{parent}/{quote(provider_url(p), safe='')}", p.get("data", "").encode(), ephemeral=True)
    for c in spec.get("consumers", []):
        parent = f"{root}/{c['interface']}/consumers"
        zk.ensure_path(parent)
        url = provider_url({"protocol": "consumer", "host": c["host"], "port": 0, "interface": c["interface"], "params": c["params"]})
        # Dubbo writes consumer:// URLs without a port.
        zk.create(f"{parent}/{quote(url.replace(':0/', '/', 1), safe='')}", b"", ephemeral=True)
    for path in spec.get("extra", []):
        zk.ensure_path(path)
    print("REGISTERED", flush=True)
    sys.stdin.read()
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
