// The admin HTTP port: liveness, readiness (with the registry's state as detail) and Prometheus
// metrics. Debug pages plug in as extra routes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import type { AccessDenied } from './debug-access.js';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A JSON page (body serialised), or a raw page when `raw` carries its text and headers (the status page). */
export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly raw?: { readonly text: string; readonly headers: Readonly<Record<string, string>> };
}

export type RouteHandler = (url: URL) => Promise<RouteResult> | RouteResult;

export interface AdminServerOptions {
  readonly registry: Registry;
  readonly readiness: () => ReadinessReport;
  readonly log: Logger;
  readonly routes?: Readonly<Record<string, RouteHandler>>;
  /** What /metrics serves instead of `registry` alone (e.g. merged with other processes' metrics). */
  readonly metrics?: () => Promise<string>;
  /**
   * Decides who sees every page but /healthz, /readyz and /metrics (DebugAccess); unset: everyone
   * (tests of the pages themselves).
   */
  readonly access?: (remoteAddress: string | undefined, authorization: string | undefined) => AccessDenied | undefined;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly opts: AdminServerOptions) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        opts.log.error({ url: req.url, err: err.message }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'only GET' });
    switch (url.pathname) {
      case '/healthz':
        return sendText(res, 200, 'ok\n');
      case '/readyz': {
        const r = this.opts.readiness();
        return send(res, r.ready ? 200 : 503, { ready: r.ready, ...r.detail });
      }
      case '/metrics': {
        const text = await (this.opts.metrics ?? (() => this.opts.registry.metrics()))();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType });
        res.end(text);
        return;
      }
    }
    const denied = this.opts.access?.(req.socket.remoteAddress, req.headers.authorization);
    if (denied) {
      res.setHeader('cache-control', 'no-store');
      if (denied.status === 401) res.setHeader('www-authenticate', 'Bearer realm="zk-xds admin"');
      return send(res, denied.status, { error: denied.reason });
    }
    const route = this.opts.routes?.[url.pathname];
    if (route) {
      const r = await route(url);
      if (r.raw) {
        res.writeHead(r.status, r.raw.headers);
        res.end(r.raw.text);
        return;
      }
      return send(res, r.status, r.body);
    }
    return send(res, 404, { error: `no such page: ${url.pathname}` });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}
