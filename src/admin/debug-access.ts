// Who may read the admin port's /debug pages: they map the whole mesh (every proxy's address and
// node id, registrations, decoded configs), so they are not for anyone who can reach the port.
// Loopback connections (a `kubectl port-forward`, a shell in the pod) are always let in; others
// need `Authorization: Bearer <token>` with the token of --admin-token-file, and without a token
// file they are refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../observability/logger.js';

export interface AccessDenied {
  readonly status: 401 | 403;
  /** One line for the client; never contains the token. */
  readonly reason: string;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (`::ffff:127.x.y.z`, what a dual-stack socket reports). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/** Compares as SHA-256 digests so that neither the content nor the length leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export class DebugAccess {
  private token: string | undefined;
  /** mtime, size and inode of the file the token was read from: a rotated Secret changes one of them. */
  private stamp = '';

  /** `tokenFile` unset: only loopback. */
  constructor(
    private readonly tokenFile: string | undefined,
    private readonly log: Logger,
  ) {}

  /** Undefined when the request may see /debug pages. */
  check(remoteAddress: string | undefined, authorization: string | undefined): AccessDenied | undefined {
    if (isLoopback(remoteAddress)) return undefined;
    if (this.tokenFile === undefined) {
      return { status: 403, reason: '/debug answers only loopback connections (no --admin-token-file set); use kubectl port-forward or set a token' };
    }
    const token = this.currentToken();
    if (token === undefined) return { status: 403, reason: '/debug is closed: the --admin-token-file cannot be read or is empty (see the zk-xds log)' };
    const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (presented === undefined) return { status: 401, reason: '/debug needs Authorization: Bearer <token> (the token of --admin-token-file)' };
    if (!sameSecret(presented, token)) return { status: 401, reason: 'the bearer token is not the admin token' };
    return undefined;
  }

  /** The file's token, read again whenever the file changed (a rotated Kubernetes Secret). */
  private currentToken(): string | undefined {
    const file = this.tokenFile!;
    try {
      const st = statSync(file);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp === this.stamp) return this.token;
      const token = readFileSync(file, 'utf8').trim();
      this.stamp = stamp;
      this.token = token === '' ? undefined : token;
      if (this.token === undefined) this.log.error({ file }, 'the admin token file is empty: /debug refuses every non-loopback connection');
      else this.log.info({ file }, 'admin token read');
      return this.token;
    } catch (err) {
      if (this.stamp !== 'unreadable')
        this.log.error(
          { file, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
          'cannot read the admin token file: /debug refuses every non-loopback connection',
        );
      this.stamp = 'unreadable';
      this.token = undefined;
      return undefined;
    }
  }
}

/** The admin server's `access` option. */
export function adminAccess(
  tokenFile: string | undefined,
  log: Logger,
): (remoteAddress: string | undefined, authorization: string | undefined) => AccessDenied | undefined {
  const access = new DebugAccess(tokenFile, log);
  return (remoteAddress, authorization) => access.check(remoteAddress, authorization);
}
