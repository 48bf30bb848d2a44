/**
 * A small Kubernetes API server for tests: real HTTP(S), discovery enough for kubectl, and the
 * namespaced ServiceEntry custom resource (networking.istio.io/v1) with the real rules: list with
 * label selectors, create, update with resourceVersion conflicts (409), delete with preconditions,
 * server-side apply with field managers and force (409 on conflicts), 422 for invalid objects
 * (Istio's CRD schema via @kubernetes-models/istio), watch with bookmarks and 410 Gone for
 * compacted resourceVersions. Every persisted change is recorded (`writes`), so tests can count
 * writes per object; `requests` records every request.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseLabelSelector } from './fake-kube/label-selector.js';
import { isObject, type JsonObject } from './fake-kube/managed-fields.js';
import { API_VERSION, ApiError, GROUP, KIND, ServiceEntryStore, VERSION, meta, type StoreEvent, type WriteRecord } from './fake-kube/serviceentry-store.js';

export type { WriteRecord } from './fake-kube/serviceentry-store.js';

export interface FakeKubeOptions {
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (made with openssl). */
  tls?: boolean;
  /** When set, every request must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** How often open watches that asked for bookmarks get one. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Watch events kept for resuming watches; older resourceVersions get 410. Default 1000. */
  historyLimit?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  /** When it arrived (performance.now()). */
  at: number;
  /** Set for mutating requests to serviceentries. */
  name?: string;
}

const PLURAL = 'serviceentries';
const RESOURCE_PATH = new RegExp(`^/apis/${GROUP.replaceAll('.', '\\.')}/${VERSION}/(?:namespaces/([^/]+)/)?${PLURAL}(?:/([^/]+))?$`);

export class FakeKubeApiServer {
  readonly store: ServiceEntryStore;
  readonly requests: RequestRecord[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly watches = new Set<http.ServerResponse>();
  private failures: { count: number; status: number; onlyMethods?: string[] } = { count: 0, status: 500 };
  private caPem = '';
  private port = 0;

  private constructor(
    private readonly options: FakeKubeOptions,
    private readonly dir: string,
    tlsFiles: { key: string; cert: string } | undefined,
  ) {
    this.store = new ServiceEntryStore(options.historyLimit);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = tlsFiles ? https.createServer({ key: tlsFiles.key, cert: tlsFiles.cert }, handler) : http.createServer(handler);
    if (tlsFiles) this.caPem = tlsFiles.cert;
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(options: FakeKubeOptions = {}): Promise<FakeKubeApiServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fake-kube-'));
    const tlsFiles = options.tls ? await selfSignedCertificate(dir) : undefined;
    const server = new FakeKubeApiServer(options, dir, tlsFiles);
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    server.port = (server.server.address() as net.AddressInfo).port;
    return server;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get writes(): readonly WriteRecord[] {
    return this.store.writes;
  }

  /** Writes a kubeconfig pointing at this server (CA and token included when set); returns its path. */
  async writeKubeconfig(namespace = 'default', file = path.join(this.dir, 'kubeconfig')): Promise<string> {
    const cluster: Record<string, string> = { server: this.url };
    if (this.caPem) cluster['certificate-authority-data'] = Buffer.from(this.caPem).toString('base64');
    const user: Record<string, string> = this.options.token ? { token: this.options.token } : {};
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster }],
      users: [{ name: 'fake', user }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
      'current-context': 'fake',
    };
    await writeFile(file, toYaml(config), { mode: 0o600 });
    return file;
  }

  /** The next `count` requests to serviceentries (mutating ones, or those of `onlyMethods`) answer `status` (e.g. 500, 429). */
  failNext(count: number, status: number, onlyMethods?: string[]): void {
    this.failures = { count, status, onlyMethods };
  }

  /** Ends every open watch (clients must re-watch from their last resourceVersion). */
  closeWatches(): void {
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  /** Writes attributed to `name`, in order. */
  writesFor(name: string): WriteRecord[] {
    return this.store.writes.filter((w) => w.name === name);
  }

  async stop(): Promise<void> {
    this.closeWatches();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, query, contentType, at: performance.now() };
    this.requests.push(record);
    try {
      const body = await readBody(req);
      if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const discovery = this.discovery(url.pathname);
      if (discovery) return send(res, 200, discovery);
      const m = RESOURCE_PATH.exec(url.pathname);
      if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const [, namespace, name] = m;
      if (req.method !== 'GET') record.name = name;
      const failable = this.failures.onlyMethods ? this.failures.onlyMethods.includes(req.method!) : req.method !== 'GET';
      if (failable && this.failures.count > 0) {
        this.failures.count--;
        const status = this.failures.status;
        if (status === 429) res.setHeader('Retry-After', '0');
        throw new ApiError(status, status === 429 ? 'TooManyRequests' : 'InternalError', `injected failure ${status}`);
      }
      if (!name) return this.collection(req, res, namespace, query, body);
      if (!namespace) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return this.item(req, res, namespace, name, query, contentType, body);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
      if (!res.headersSent) send(res, apiErr.code, apiErr.status());
      else res.end();
    }
  }

  private collection(req: http.IncomingMessage, res: http.ServerResponse, namespace: string | undefined, query: Record<string, string>, body: string): void {
    const selector = parseLabelSelector(query.labelSelector ?? null);
    if (req.method === 'GET' && (query.watch === 'true' || query.watch === '1')) return this.watch(res, namespace, query, selector);
    if (req.method === 'GET') {
      const rv = query.resourceVersion;
      // A list at an exact old version needs history it may no longer have.
      if (rv && rv !== '0' && query.resourceVersionMatch === 'Exact') this.store.eventsSince(Number(rv));
      const items = this.store.list(namespace).filter((o) => selector(labelsOf(o)));
      return send(res, 200, { apiVersion: API_VERSION, kind: `${KIND}List`, metadata: { resourceVersion: String(this.store.resourceVersion) }, items });
    }
    if (req.method === 'POST' && namespace) {
      if (query.dryRun) throw new ApiError(400, 'BadRequest', 'dryRun is not supported by the fake server');
      return send(res, 201, this.store.create(namespace, parseObject(body), query.fieldManager ?? 'unknown'));
    }
    throw new ApiError(405, 'MethodNotAllowed', `method ${req.method} not allowed on the collection`);
  }

  private item(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    namespace: string,
    name: string,
    query: Record<string, string>,
    contentType: string,
    body: string,
  ): void {
    if (query.dryRun) throw new ApiError(400, 'BadRequest', 'dryRun is not supported by the fake server');
    switch (req.method) {
      case 'GET':
        return send(res, 200, this.store.get(namespace, name));
      case 'PUT':
        return send(res, 200, this.store.update(namespace, name, parseObject(body), query.fieldManager ?? 'unknown'));
      case 'DELETE': {
        const options = body ? parseObject(body) : {};
        const pre = isObject(options.preconditions) ? options.preconditions : {};
        const preconditions = { resourceVersion: str(pre.resourceVersion), uid: str(pre.uid) };
        return send(res, 200, this.store.delete(namespace, name, preconditions, query.fieldManager ?? 'unknown'));
      }
      case 'PATCH':
        if (contentType !== 'application/apply-patch+yaml')
          throw new ApiError(415, 'UnsupportedMediaType', `the fake server supports only server-side apply patches, not ${contentType}`);
        return send(res, 200, this.store.apply(namespace, name, parseObject(body), query.fieldManager ?? '', query.force === 'true'));
      default:
        throw new ApiError(405, 'MethodNotAllowed', `method ${req.method} not allowed`);
    }
  }

  private watch(
    res: http.ServerResponse,
    namespace: string | undefined,
    query: Record<string, string>,
    selector: (l: Record<string, string>) => boolean,
  ): void {
    const rv = query.resourceVersion;
    const matches = (e: StoreEvent) => (namespace === undefined || meta(e.object).namespace === namespace) && selector(labelsOf(e.object));
    let backlog: StoreEvent[];
    if (!rv || rv === '0') {
      // No version: the current state as synthetic ADDED events, then changes.
      backlog = this.store.list(namespace).map((object) => ({ type: 'ADDED' as const, object, rv: Number(meta(object).resourceVersion) }));
    } else {
      try {
        backlog = this.store.eventsSince(Number(rv));
      } catch (err) {
        // The real server answers a too-old watch with 200 and one ERROR event carrying the 410 Status.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: (err as ApiError).status() })}\n`);
        return;
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.watches.add(res);
    const write = (e: StoreEvent) => {
      if (matches(e)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    };
    for (const e of backlog) write(e);
    const unsubscribe = this.store.subscribe(write);
    const timers: NodeJS.Timeout[] = [];
    if (query.allowWatchBookmarks === 'true') {
      timers.push(
        setInterval(() => {
          res.write(
            `${JSON.stringify({ type: 'BOOKMARK', object: { kind: KIND, apiVersion: API_VERSION, metadata: { resourceVersion: String(this.store.resourceVersion) } } })}\n`,
          );
        }, this.options.bookmarkIntervalMs ?? 1000),
      );
    }
    if (query.timeoutSeconds) timers.push(setTimeout(() => res.end(), Number(query.timeoutSeconds) * 1000));
    const cleanup = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(res);
    };
    res.on('close', cleanup);
    res.on('finish', cleanup);
  }

  private discovery(pathname: string): JsonObject | undefined {
    switch (pathname) {
      case '/api':
        return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] };
      case '/api/v1':
        return { kind: 'APIResourceList', groupVersion: 'v1', resources: [] };
      case '/apis':
        return {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [
            { name: GROUP, versions: [{ groupVersion: API_VERSION, version: VERSION }], preferredVersion: { groupVersion: API_VERSION, version: VERSION } },
          ],
        };
      case `/apis/${GROUP}`:
        return {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: GROUP,
          versions: [{ groupVersion: API_VERSION, version: VERSION }],
          preferredVersion: { groupVersion: API_VERSION, version: VERSION },
        };
      case `/apis/${API_VERSION}`:
        return {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: API_VERSION,
          resources: [
            {
              name: PLURAL,
              singularName: 'serviceentry',
              namespaced: true,
              kind: KIND,
              shortNames: ['se'],
              categories: ['istio-io', 'networking-istio-io'],
              verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
            },
          ],
        };
      case '/version':
        return { major: '1', minor: '33', gitVersion: 'v1.33.0-fake', platform: 'linux/amd64' };
      default:
        return undefined;
    }
  }
}

function labelsOf(o: JsonObject): Record<string, string> {
  const labels = meta(o).labels;
  return isObject(labels) ? (labels as Record<string, string>) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function send(res: http.ServerResponse, status: number, body: JsonObject): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** JSON or YAML (apply patches are YAML; JSON is YAML too). */
function parseObject(body: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = parseYaml(body);
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body could not be decoded: ${(err as Error).message}`);
  }
  if (!isObject(parsed as JsonObject)) throw new ApiError(400, 'BadRequest', 'the body is not an object');
  return parsed as JsonObject;
}

async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const keyFile = path.join(dir, 'tls.key');
  const certFile = path.join(dir, 'tls.crt');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
}
