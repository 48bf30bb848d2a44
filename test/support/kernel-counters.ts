// Kernel TCP counters (Linux /proc/net/netstat) and a process's resident memory, for storm tests
// and benchmarks: a listen queue that overflowed drops handshakes the client thought complete.
import { readFileSync } from 'node:fs';

/** TcpExt counter `name` (e.g. ListenOverflows), system-wide. */
export function tcpExtCounter(name: string): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('TcpExt:') || !lines[i + 1]!.startsWith('TcpExt:')) continue;
    const keys = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const at = keys.indexOf(name);
    if (at > 0) return Number(values[at]);
  }
  throw new Error(`TcpExt counter ${name} not found in /proc/net/netstat`);
}

/** Resident set size of process `pid`, in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}
