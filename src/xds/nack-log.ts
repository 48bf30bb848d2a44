// NACK log lines without the storm: a proxy that keeps re-sending the same rejection (same node,
// type and rejected version, or nonce when there is no version) is logged once, and its
// error_detail is cut to a few hundred characters. Repeats are counted and the count goes out with
// the next line logged for that key. The NACK metrics still count every NACK (the streams do that).
import type { Logger } from '../observability/logger.js';

/** Characters of error_detail kept in a log line. */
export const NACK_DETAIL_CHARS = 300;
/** Distinct rejections remembered; the oldest are forgotten past it (and would be logged again). */
const REMEMBERED = 10_000;
/** A rejection seen again after this long is logged again, with its repeat count. */
const RELOG_AFTER_MS = 10 * 60_000;

export interface NackEvent {
  readonly node: string;
  readonly type: string;
  readonly rejectedVersion: string;
  readonly nonce: string;
  readonly message: string;
  /** Extra fields for the log line (keptVersion, protocol). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** `message` cut to `max` characters, saying how much was left out. */
export function truncateDetail(message: string, max = NACK_DETAIL_CHARS): string {
  if (message.length <= max) return message;
  return `${message.slice(0, max)}… (${message.length - max} more characters)`;
}

interface Seen {
  at: number;
  repeats: number;
}

export class NackLog {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly log: Logger,
    private readonly onSuppressed: () => void = () => {},
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Logs the NACK unless the same rejection was logged recently; returns whether it logged. */
  record(e: NackEvent, msg: string): boolean {
    const key = `${e.node}\u0000${e.type}\u0000${e.rejectedVersion || `nonce:${e.nonce}`}`;
    const now = this.now();
    const prior = this.seen.get(key);
    if (prior && now - prior.at < RELOG_AFTER_MS) {
      prior.repeats++;
      this.onSuppressed();
      return false;
    }
    this.seen.delete(key);
    this.seen.set(key, { at: now, repeats: 0 });
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    this.log.warn(
      {
        ...e.fields,
        node: e.node,
        type: e.type,
        rejectedVersion: e.rejectedVersion,
        nonce: e.nonce,
        error: truncateDetail(e.message),
        ...(prior ? { repeatsSinceLastLogged: prior.repeats } : {}),
      },
      msg,
    );
    return true;
  }
}
