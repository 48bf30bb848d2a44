// Real registrars writing into a test ZooKeeper: Apache Curator ServiceDiscovery (Java, Debian's
// libcurator-discovery-java; test/support/java) and kazoo writing Dubbo 2 providers (Debian's
// python3-kazoo; test/support/python). Each runs as a child process that keeps its session, so its
// ephemeral registrations live until stop() (clean unregister) or kill() (session left to expire).
//
// The Java helper is compiled on first use into .run/curator-registrar/<hash of its sources>, so
// reruns skip javac. Children start under the same fd-closing preamble as the ZooKeeper servers:
// the `zookeeper` binding's sockets are not close-on-exec and must not leak into them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { CLOSE_INHERITED_FDS } from './zookeeper-server.js';

const JAVA_SOURCES = path.join(PROJECT_ROOT, 'test', 'support', 'java');
const KAZOO_SCRIPT = path.join(PROJECT_ROOT, 'test', 'support', 'python', 'dubbo_provider.py');
const CACHE_DIR = path.join(PROJECT_ROOT, '.run', 'curator-registrar');
const JARS = '/usr/share/java/*';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface CuratorInstanceSpec {
  /** curator: plain Curator payload-less instance; spring / dubbo3: that framework's payload class. */
  kind: 'curator' | 'spring' | 'dubbo3';
  basePath: string;
  name: string;
  id: string;
  address: string;
  port: number;
  enabled?: boolean;
  metadata?: Record<string, string>;
}

export interface DubboProviderSpec {
  interface: string;
  protocol: string;
  host: string;
  port: number;
  /** In URL order; a null value is written as a bare key. */
  params: [string, string | null][];
  /** Node data (Dubbo writes the provider IP, or nothing). */
  data?: string;
}

/** A Dubbo 2 consumer as Dubbo registers it: `consumer://<host>/<interface>?application=..&category=consumers&side=consumer..`. */
export interface DubboConsumerSpec {
  interface: string;
  host: string;
  params: [string, string | null][];
}

function javaFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return javaFiles(full);
    return name.endsWith('.java') ? [full] : [];
  });
}

/** Compiles the Java helper once per source version; returns its classes directory. */
export function curatorRegistrarClasses(): string {
  const files = javaFiles(JAVA_SOURCES).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(f));
  const out = path.join(CACHE_DIR, hash.digest('hex').slice(0, 16));
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const javac = spawnSync('javac', ['-proc:none', '-implicit:none', '-nowarn', '-d', tmp, '-cp', JARS, ...files], { encoding: 'utf8' });
  if (javac.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`javac failed: ${javac.stderr || javac.error?.message}`);
  }
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker compiled it first
  }
  return out;
}

export class RegistrarProcess {
  private output = '';
  private readonly exited: Promise<string>;

  private constructor(
    private readonly child: ChildProcess,
    readonly label: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (this.output = (this.output + c.toString('utf8')).slice(-16_000)));
    child.stdin?.on('error', () => undefined);
  }

  /** Registers Curator ServiceDiscovery instances with a real Curator client. */
  static curator(connect: string, instances: CuratorInstanceSpec[], opts: { digest?: string } = {}): Promise<RegistrarProcess> {
    const classes = curatorRegistrarClasses();
    return RegistrarProcess.start(
      'curator',
      ['java', '-Xmx128m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${classes}:${JARS}`, 'zkxds.test.CuratorRegistrar'],
      { connect, instances },
      opts.digest,
    );
  }

  /** Registers Dubbo 2 providers (plus `extra` persistent nodes) with a real kazoo client. */
  static kazooDubbo(
    connect: string,
    providers: DubboProviderSpec[],
    opts: { root?: string; extra?: string[]; digest?: string; consumers?: DubboConsumerSpec[] } = {},
  ): Promise<RegistrarProcess> {
    return RegistrarProcess.start(
      'kazoo',
      ['/usr/bin/python3', KAZOO_SCRIPT],
      { connect, root: opts.root ?? '/dubbo', providers, extra: opts.extra ?? [], consumers: opts.consumers ?? [] },
      opts.digest,
    );
  }

  private static async start(label: string, command: string[], spec: object, digest: string | undefined): Promise<RegistrarProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, ZKXDS_REGISTRAR_SPEC: JSON.stringify(spec) };
    if (digest) env.ZKXDS_REGISTRAR_DIGEST = digest;
    const child = spawn('/bin/bash', ['-c', `${CLOSE_INHERITED_FDS}\nexec "$@"`, label, ...command], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const registrar = new RegistrarProcess(child, label);
    await registrar.waitForRegistered();
    return registrar;
  }

  private waitForRegistered(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`no REGISTERED within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      const check = () => {
        if (this.output.includes('REGISTERED')) {
          clearTimeout(timer);
          this.child.stdout?.off('data', check);
          resolve();
        }
      };
      const fail = (why: string) => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.label} registrar: ${why}\n${this.output}`));
      };
      this.child.stdout?.on('data', check);
      void this.exited.then((how) => {
        clearTimeout(timer);
        if (!this.output.includes('REGISTERED')) fail(`exited (${how}) before registering`);
      });
    });
  }

  /** Unregisters cleanly (closes stdin: the helper closes its discovery and session) and waits for exit. */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills without unregistering: the ephemerals stay until ZooKeeper expires the session. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
