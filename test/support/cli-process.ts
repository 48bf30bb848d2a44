// Runs the compiled `zk-xds` command (dist/src/cli/main.js, built by `make test`) as a real process
// and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class CliProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  /** Everything the process wrote to stdout (the output of the one-shot commands). */
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 0, msg: line });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * `podLike`: run `main` (relative to `cwd`) with only PATH and `env`, as in a container, instead
   * of this process's environment; for the chart and image tests.
   */
  static start(args: string[], env: Record<string, string> = {}, podLike?: { cwd: string; main: string }): CliProcess {
    const fullEnv = podLike ? { PATH: process.env.PATH ?? '', ...env } : { ...process.env, NODE_OPTIONS: '', ...env };
    const child = spawn(process.execPath, [podLike?.main ?? MAIN, ...args], { cwd: podLike?.cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    return new CliProcess(child);
  }

  /** Runs a one-shot command (status, inspect, validate) to its end. */
  static async run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = CliProcess.start(args, env);
    const { code } = await p.exited;
    // 'exit' can come before the last output chunks: wait for the pipes to close.
    await Promise.all([p.child.stdout, p.child.stderr].map((s) => (s!.readableEnded ? null : new Promise((r) => s!.once('close', r)))));
    return { code, stdout: p.stdout, stderr: p.stderr };
  }

  /** Waits for a log line matching `pred`. */
  async waitForLine(pred: (l: LogLine) => boolean, timeoutMs = 15000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no matching log line; stdout: ${JSON.stringify(this.lines.slice(-10))} stderr: ${this.stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The admin port from the "zk-xds listening" line; undefined if the process ended or never logged it. */
  async adminPort(timeoutMs = 15000): Promise<number | undefined> {
    try {
      return (await this.waitForLine((l) => l.msg.startsWith('zk-xds listening'), timeoutMs)).adminPort as number;
    } catch {
      return undefined;
    }
  }

  /** stdout and stderr together, for failure messages. */
  output(): string {
    return this.stdout + this.stderr;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}
