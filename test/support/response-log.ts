// The responses a test client received on one stream, in order, with waiting helpers.
export class ResponseLog<R extends { typeUrl: string }> {
  readonly responses: R[] = [];
  ended = false;
  /** Index after the last response handed out by next(). */
  consumed = 0;
  private waiters: Array<() => void> = [];

  push(r: R): void {
    this.responses.push(r);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Waits for the next response (of a type, if given) at or after index `from`. */
  async next(typeUrl?: string, timeoutMs = 3000, from = this.consumed): Promise<R> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.responses.findIndex((r, idx) => idx >= from && (!typeUrl || r.typeUrl === typeUrl));
      if (i >= 0) {
        this.consumed = i + 1;
        return this.responses[i]!;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.ended) throw new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms (got ${this.responses.length} responses)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits `ms` and returns whatever arrived meanwhile (a test expects [] when nothing is due). */
  async quietFor(ms: number): Promise<R[]> {
    const before = this.responses.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.responses.slice(before);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
