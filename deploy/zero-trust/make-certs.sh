#!/bin/sh
# Test certificates for the zero-trust example, in /tmp/zkxds-zero-trust (or $1): one mesh CA and
# SPIFFE identities for the orders server and the web and batch callers. In production they come
# from your CA or an SDS agent (SPIRE, cert-manager csi-driver-spiffe...): zk-xds is not a CA.
set -eu
dir=${1:-/tmp/zkxds-zero-trust}
mkdir -p "$dir" && cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=mesh-ca 2>/dev/null
for workload in orders web batch; do
  openssl req -newkey rsa:2048 -nodes -keyout "$workload.key" -out "$workload.csr" -subj "/CN=$workload" 2>/dev/null
  printf 'subjectAltName=URI:spiffe://shop.example/sa/%s\n' "$workload" > "$workload.ext"
  openssl x509 -req -in "$workload.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$workload.pem" -days 30 -extfile "$workload.ext" 2>/dev/null
done
echo "certificates in $dir"
