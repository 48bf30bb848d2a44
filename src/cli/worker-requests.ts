// Questions the main process asks a serving worker over IPC (its metrics, its proxies' rows) and
// their answers, paired by request id. A worker that does not answer in time is reported as such:
// an admin page never waits on a stuck or dying worker for more than the timeout.
import type { MainMessage, WorkerQuestion } from './worker-messages.js';

/** How long a page waits for a worker's answer. */
export const ANSWER_TIMEOUT_MS = 1000;

export type Answer = { readonly answered: true; readonly body: unknown } | { readonly answered: false; readonly error: string };

export class WorkerRequests {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; timer: NodeJS.Timeout }>();

  /** `send` false: the channel is gone (answered at once as not answered). */
  ask(send: (message: MainMessage) => boolean, question: WorkerQuestion, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
    const id = this.nextId++;
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => this.settle(id, { answered: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
      this.pending.set(id, { resolve, timer });
      if (!send({ kind: 'request', id, question })) this.settle(id, { answered: false, error: 'worker not reachable' });
    });
  }

  /** An answer arrived; one for an unknown id (late, after its timeout) is dropped. */
  answered(id: number, body: unknown): void {
    this.settle(id, { answered: true, body });
  }

  /** The worker is gone: every open question ends unanswered. */
  dropAll(error: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { answered: false, error });
  }

  get open(): number {
    return this.pending.size;
  }

  private settle(id: number, answer: Answer): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(answer);
  }
}
