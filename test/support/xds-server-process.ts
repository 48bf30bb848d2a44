// Parent-side driver of a real proxyless gRPC server (grpc-js-xds XdsServer) in a child process
// (xds-server-child.mjs), serving zkxds.demo.v1.Echo on a free loopback port. Its Listener comes
// from zk-xds; its bootstrap names the server Listener template zk-xds documents and, for mTLS,
// the certificate providers. `peers()` tells who called it (plaintext or the client's SPIFFE ID).
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { ECHO_PROTO_PATH } from './echo-backend.js';
import { xdsBootstrap } from './xds-client-process.js';
import { freePorts } from './zookeeper-server.js';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { SERVER_LISTENER_NAME_TEMPLATE } from '../../src/translate/server-listener.js';

const CHILD_PATH = path.join(PROJECT_ROOT, 'test', 'support', 'xds-server-child.mjs');

type ChildMessage =
  | { type: 'ready' }
  | { type: 'serving'; port: number }
  | { type: 'peers'; id: number; peers: Record<string, number> }
  | { type: 'fatal'; message: string };

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export class XdsServerProcess {
  private output = '';
  private nextId = 1;
  private readonly pending = new Map<number, (peers: Record<string, number>) => void>();
  /** Resolves when XdsServer received a usable Listener and listens (bindAsync's callback). */
  readonly serving: Promise<void>;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly id: string,
    readonly host: string,
    readonly port: number,
  ) {
    const keep = (c: Buffer) => {
      this.output = (this.output + c.toString('utf8')).slice(-32_000);
      if (process.env.ZKXDS_E2E_TRACE) process.stderr.write(c.toString('utf8').replace(/^(?=.)/gm, `[xds-server ${id}] `));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        resolve();
      }),
    );
    this.serving = new Promise((resolve, reject) => {
      child.on('message', (msg: ChildMessage) => {
        if (msg.type === 'serving') resolve();
        else if (msg.type === 'fatal') reject(new Error(`xds server ${id}: ${msg.message}`));
        else if (msg.type === 'peers') {
          this.pending.get(msg.id)?.(msg.peers);
          this.pending.delete(msg.id);
        }
      });
      void this.exited.then(() => reject(new Error(`xds server ${id} exited\n${this.output}`)));
    });
    this.serving.catch(() => undefined);
  }

  /**
   * Starts the server on a free 127.0.0.1 port. It serves only once zk-xds sent its Listener (so
   * only once a service registers an instance at host:port): await `serving` for that.
   */
  static async start(opts: { id: string; xdsServer: string; bootstrap?: Record<string, unknown>; env?: Record<string, string> }): Promise<XdsServerProcess> {
    const [port] = await freePorts(1);
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    delete env.GRPC_XDS_BOOTSTRAP;
    for (const k of ['grpc_proxy', 'https_proxy', 'http_proxy']) delete env[k];
    const nodeOptions = (env.NODE_OPTIONS ?? '').replace(/--experimental-vm-modules/g, '').trim();
    if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
    else delete env.NODE_OPTIONS;
    if (process.env.ZKXDS_E2E_TRACE)
      Object.assign(env, { GRPC_TRACE: process.env.ZKXDS_E2E_TRACE === '1' ? 'all' : process.env.ZKXDS_E2E_TRACE, GRPC_VERBOSITY: 'DEBUG' });
    env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      ...xdsBootstrap(opts.xdsServer, `server-${opts.id}`),
      server_listener_resource_name_template: SERVER_LISTENER_NAME_TEMPLATE,
      ...opts.bootstrap,
    });
    const host = '127.0.0.1';
    const child = fork(CHILD_PATH, [opts.id, `${host}:${port}`, ECHO_PROTO_PATH], {
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    live.add(child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (msg: ChildMessage) => (msg.type === 'ready' ? resolve() : msg.type === 'fatal' ? reject(new Error(msg.message)) : undefined));
      child.once('exit', () => reject(new Error('xds server child exited before it was ready')));
    });
    return new XdsServerProcess(child, opts.id, host, port!);
  }

  /** Calls answered so far, by peer: "plaintext" or the client certificate's SANs ("URI:spiffe://..."). */
  peers(): Promise<Record<string, number>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ op: 'peers', id });
    });
  }

  /** What the child wrote (grpc-js logs). */
  log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ op: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
