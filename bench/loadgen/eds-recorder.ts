// EDS receipts as NDJSON, one line per EDS response: {p: proxy index, t: epoch ms, names: [...]},
// for matching catalog changes to their arrival at each proxy offline.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { ResponseRecord } from './simulated-proxy.js';

export interface EdsReceipt {
  readonly p: number;
  readonly t: number;
  readonly names: readonly string[];
}

export class EdsRecorder {
  private readonly out: WriteStream;
  private lines: string[] = [];

  constructor(file: string) {
    // Large buffer: the initial sync writes one line per proxy with every cluster name in it.
    this.out = createWriteStream(file, { highWaterMark: 1 << 20 });
  }

  /** Suitable as LoadOptions.onResponse. Lines are batched to keep the receive path cheap. */
  readonly onResponse = (r: ResponseRecord): void => {
    if (r.type !== 'EDS' || !r.names) return;
    const receipt: EdsReceipt = { p: r.proxy, t: Math.round(r.t * 1000) / 1000, names: r.names };
    this.lines.push(JSON.stringify(receipt));
    if (this.lines.length >= 256) this.flush();
  };

  async close(): Promise<void> {
    this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.out.write(`${this.lines.join('\n')}\n`);
    this.lines = [];
  }
}
