// Memos of response bodies that many streams send alike: "every resource of a type", keyed by the
// type's version (thousands of wildcard subscribers, Envoy's CDS and LDS, share one body per
// version); and bodies picked from a subscription's names (Envoy's EDS: its clusters' endpoints,
// or what changed among them since a step), shared by streams that hold the same name set (see
// name-sets.ts) at the same cache step.
import type { ResourceCache } from './resource-cache.js';
import { encodeResponseBody } from './discovery-messages.js';
import type { OutgoingDeltaResponse } from './delta-messages.js';

/** A delta response without its nonce, with its encoded body. */
export type DeltaBody = Omit<OutgoingDeltaResponse, 'nonce' | 'body'> & { readonly body: Uint8Array };

/** An encoded response body and how many resources it carries. */
export interface PickedBody {
  readonly body: Uint8Array;
  readonly count: number;
}

/** Stands for "every name" in picked(): a wildcard subscription's key. */
export const EVERY_NAME: ReadonlySet<string> = new Set();

/** picked()'s `sinceSeq` for "every subscribed resource" rather than "what changed since". */
export const ALL_SUBSCRIBED = -1;

export class SharedBodies {
  private readonly memo = new Map<string, { version: string; body: Uint8Array }>();
  /** Per type: the cache step the memo is for, then name set -> since-step -> body. */
  private readonly pickedMemo = new Map<string, { seq: number; byNames: Map<ReadonlySet<string>, Map<number, PickedBody>> }>();

  /** The same for delta responses: per type, the cache step, then name set -> since-step -> body. */
  private readonly deltaMemo = new Map<string, { seq: number; byNames: Map<ReadonlySet<string>, Map<number, DeltaBody>> }>();

  constructor(private readonly cache: ResourceCache) {}

  allOf(typeUrl: string): Uint8Array {
    const version = this.cache.version(typeUrl);
    const hit = this.memo.get(typeUrl);
    if (hit && hit.version === version) return hit.body;
    const anys: Uint8Array[] = [];
    for (const e of this.cache.entries(typeUrl).values()) anys.push(e.anyBytes);
    const body = encodeResponseBody(version, typeUrl, anys);
    this.memo.set(typeUrl, { version, body });
    return body;
  }

  /**
   * The body `build` makes for a subscription to `names` (EVERY_NAME for a wildcard) owed what
   * changed after `sinceSeq` (or ALL_SUBSCRIBED), built once per cache step for all such streams.
   * `build` must depend on nothing else.
   */
  picked(typeUrl: string, names: ReadonlySet<string>, sinceSeq: number, build: () => PickedBody): PickedBody {
    const seq = this.cache.seq(typeUrl);
    let memo = this.pickedMemo.get(typeUrl);
    if (!memo || memo.seq !== seq) {
      memo = { seq, byNames: new Map() };
      this.pickedMemo.set(typeUrl, memo);
    }
    let bySince = memo.byNames.get(names);
    if (!bySince) memo.byNames.set(names, (bySince = new Map()));
    let hit = bySince.get(sinceSeq);
    if (!hit) bySince.set(sinceSeq, (hit = build()));
    return hit;
  }

  /**
   * The delta response `build` makes for a client holding the cache at step `sinceSeq` (or nothing:
   * ALL_SUBSCRIBED) of `names` (EVERY_NAME for a wildcard), built once per cache step for all such
   * streams. `build` must depend on nothing else.
   */
  deltaPicked(typeUrl: string, names: ReadonlySet<string>, sinceSeq: number, build: () => DeltaBody): DeltaBody {
    const seq = this.cache.seq(typeUrl);
    let memo = this.deltaMemo.get(typeUrl);
    if (!memo || memo.seq !== seq) {
      memo = { seq, byNames: new Map() };
      this.deltaMemo.set(typeUrl, memo);
    }
    let bySince = memo.byNames.get(names);
    if (!bySince) memo.byNames.set(names, (bySince = new Map()));
    let hit = bySince.get(sinceSeq);
    if (!hit) bySince.set(sinceSeq, (hit = build()));
    return hit;
  }
}
