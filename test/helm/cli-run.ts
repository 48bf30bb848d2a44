// Starts the compiled CLI with the environment a rendered pod would give it, as a real process,
// and waits for it to listen: proof that the CLI accepts every value the manifests set.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunningCli {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** The admin port from the "zk-xds listening" log line; undefined if the CLI exited or did not log it in time. */
  adminPort(): Promise<number | undefined>;
}

/** Same variables as the pod, except what a test machine needs: free ports, loopback, and a ZooKeeper that is not there (serving starts before the first read). */
export function testMachineEnv(podEnv: ReadonlyMap<string, string>): Record<string, string> {
  return { ...Object.fromEntries(podEnv), ZKXDS_XDS_PORT: '0', ZKXDS_ADMIN_PORT: '0', ZKXDS_BIND_ADDRESS: '127.0.0.1', ZKXDS_ZK: '127.0.0.1:1' };
}

export function startCli(cwd: string, main: string, env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [main, 'serve'], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    async adminPort() {
      for (let i = 0; i < 300 && !done; i++) {
        const line = out.split('\n').find((l) => l.includes('zk-xds listening'));
        if (line) return (JSON.parse(line) as { adminPort: number }).adminPort;
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    },
  };
}
