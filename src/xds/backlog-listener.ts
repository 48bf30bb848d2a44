// The xDS port's listening socket, owned by zk-xds instead of grpc-js: bindAsync has no backlog
// option and Node's default (511) overflows when thousands of proxies move to this replica at
// once (the kernel drops their handshakes and some connections are reset after they looked
// established). Accepted sockets are handed to grpc-js through its connection injector.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger.js';

/** HTTP/2 sessions set up per turn of the event loop after an accept burst. */
const INJECT_BATCH = 256;

export interface BacklogListener {
  readonly port: number;
  /**
   * Stops accepting. Resolves once every accepted socket is gone: the grpc-js server's shutdown
   * closes the sessions on them (the injector's HTTP/2 server is one of its servers).
   */
  close(): Promise<void>;
}

/** net.core.somaxconn: the kernel silently caps every listen backlog at it. */
export function kernelBacklogCap(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/**
 * Offered each accepted socket, still paused, before this process serves it: true when it took the
 * socket (another process serves it), false to serve it here.
 */
export type HandOff = (socket: net.Socket) => boolean;

/**
 * With TLS `credentials`, the injector's HTTP/2 server does the handshake on each injected socket.
 * `handOff` may take accepted sockets to serve them elsewhere (`serve --workers`).
 */
export async function listenWithBacklog(
  server: grpc.Server,
  host: string,
  port: number,
  backlog: number,
  log: Logger,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
  handOff?: HandOff,
): Promise<BacklogListener> {
  const injector = server.createConnectionInjector(credentials);
  // Accepting is kept cheap: a socket is only queued when accepted, and its HTTP/2 session is set
  // up on the next turn of the event loop, in batches. libuv then empties the listen queue in one
  // go during a storm instead of paying for each session between two accepts. Sockets stay paused
  // until then (the session reads from the socket itself once injected).
  const accepted: net.Socket[] = [];
  let injecting = false;
  const injectAccepted = (): void => {
    for (const socket of accepted.splice(0, INJECT_BATCH)) {
      if (socket.destroyed) continue;
      // Nothing is read before the session takes the socket: both happen in this same turn.
      socket.resume();
      injector.injectConnection(socket);
    }
    if (accepted.length > 0) setImmediate(injectAccepted);
    else injecting = false;
  };
  const listener = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    if (handOff?.(socket)) return;
    accepted.push(socket);
    if (!injecting) {
      injecting = true;
      setImmediate(injectAccepted);
    }
  });
  listener.on('error', (err) => log.error({ err: err.message }, 'xDS listening socket error'));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: host.replace(/^\[(.*)\]$/, '$1'), port, backlog }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const cap = kernelBacklogCap();
  const effective = cap === null ? backlog : Math.min(backlog, cap);
  if (cap !== null && cap < backlog)
    log.info({ backlog, somaxconn: cap, effective }, 'listen backlog capped by net.core.somaxconn; raise it for larger connection storms');
  const address = listener.address() as net.AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        // Accepted but not handed over yet: nobody else will close these.
        for (const socket of accepted.splice(0)) socket.destroy();
      }),
  };
}

/**
 * Serves sockets accepted by another process (a serving worker of `serve --workers`): each goes to
 * `server` through its own connection injector, which does the TLS handshake with `credentials`.
 */
export function socketAdopter(
  server: grpc.Server,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): (socket: net.Socket) => void {
  // Made now, not at the first socket: grpc-js drops connections until certificate-provider
  // credentials have reached the injector's server, which happens a turn later.
  const injector = server.createConnectionInjector(credentials);
  return (socket) => {
    socket.setNoDelay(true);
    socket.resume();
    injector.injectConnection(socket);
  };
}
