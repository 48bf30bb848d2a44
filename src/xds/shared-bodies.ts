// Memo of "every resource of a type" response bodies, keyed by the type's version: thousands of
// wildcard subscribers (Envoy's CDS and LDS) then share one encoded body per version.
import type { ResourceCache } from './resource-cache.js';
import { encodeResponseBody } from './discovery-messages.js';

export class SharedBodies {
  private readonly memo = new Map<string, { version: string; body: Uint8Array }>();

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
}
