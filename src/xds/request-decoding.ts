// State-of-the-world DiscoveryRequest decoding that leaves resource_names as bytes. Every SotW ACK
// of an Envoy's EDS repeats its ~1,000 endpoint names; decoding them into strings (proto-loader)
// and diffing them against the subscription on every ACK was a top frame of the Envoy churn
// profile. This decoder reads the small fields itself and keeps the names' encoded bytes, so a
// subscription sees in one byte comparison that they did not change, and decodes them only when
// they did. Requests with anything else (the node of a stream's first request, a NACK's
// error_detail, resource_locators) are decoded in full by the fallback, with the bytes attached too.
import protobuf from 'protobufjs';
import type { DiscoveryRequestMessage, NodeMessage } from './discovery-messages.js';

const VERSION_INFO = 1;
const RESOURCE_NAMES = 3;
const TYPE_URL = 4;
const RESPONSE_NONCE = 5;
const WIRE_LEN = 2;

/** Fields the fast path decodes itself; any other field sends the request to the fallback. */
const FAST_FIELDS = new Set([VERSION_INFO, RESOURCE_NAMES, TYPE_URL, RESPONSE_NONCE]);

/** A request whose resource_names are decoded from their bytes when first read. */
class LazyNamesRequest implements DiscoveryRequestMessage {
  version_info = '';
  node: NodeMessage | null = null;
  type_url = '';
  response_nonce = '';
  error_detail: { code: number; message: string } | null = null;
  private decoded: string[] | null = null;

  constructor(readonly resource_names_bytes: Uint8Array) {}

  get resource_names(): string[] {
    this.decoded ??= decodeNames(this.resource_names_bytes);
    return this.decoded;
  }
}

/**
 * A grpc-js request deserializer for the SotW methods: the fast path for requests made only of
 * version_info, resource_names, type_url and response_nonce (every ACK), `fallback` (proto-loader's
 * deserializer) for the rest. Either way `resource_names_bytes` holds the encoded names.
 */
export function sotwRequestDeserializer(fallback: (bytes: Buffer) => unknown): (bytes: Buffer) => DiscoveryRequestMessage {
  // Per deserializer, so per server: servers in one process share nothing.
  const recent = new RecentRuns();
  return (bytes) => {
    const scan = scanRequest(bytes, recent);
    if (!scan.fast) {
      const full = fallback(bytes) as DiscoveryRequestMessage;
      full.resource_names_bytes = scan.names;
      return full;
    }
    const req = new LazyNamesRequest(scan.names);
    const text = (range: [number, number] | undefined) => (range ? utf8(bytes, range[0], range[1]) : '');
    req.version_info = text(scan.strings.get(VERSION_INFO));
    req.type_url = text(scan.strings.get(TYPE_URL));
    req.response_nonce = text(scan.strings.get(RESPONSE_NONCE));
    return req;
  };
}

interface RequestScan {
  /** Only fast-path fields, all length-delimited. */
  readonly fast: boolean;
  /** Every resource_names field as encoded (tag, length, bytes), in order. */
  readonly names: Uint8Array;
  /** Value ranges of the last occurrence of each singular string field. */
  readonly strings: Map<number, [number, number]>;
}

function scanRequest(bytes: Uint8Array, recent: RecentRuns): RequestScan {
  const strings = new Map<number, [number, number]>();
  const nameRanges: Array<[number, number]> = [];
  let fast = true;
  let pos = 0;
  let knownRun: Uint8Array | null = null;
  // A hand-written loop (not protobufjs' Reader): an Envoy ACK holds ~1,000 names to step over.
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= bytes.length) throw new RangeError('DiscoveryRequest truncated inside a varint');
      const b = bytes[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new RangeError('DiscoveryRequest has a varint longer than 5 bytes');
  };
  while (pos < bytes.length) {
    const fieldStart = pos;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType !== WIRE_LEN) {
      // Not a field this message has as a scalar: protobufjs skips it (and rejects a malformed one).
      fast = false;
      const reader = protobuf.Reader.create(bytes);
      reader.pos = pos;
      reader.skipType(wireType);
      pos = reader.pos;
      continue;
    }
    const length = varint();
    const valueStart = pos;
    pos += length;
    if (pos > bytes.length) throw new RangeError(`DiscoveryRequest field ${field} runs past the end of the message`);
    if (field === RESOURCE_NAMES) {
      if (nameRanges.length === 0) {
        const run = recent.at(bytes, fieldStart);
        if (run) {
          // The same names as a recent request: stepped over in one comparison, not field by field.
          knownRun = run;
          pos = fieldStart + run.length;
          nameRanges.push([fieldStart, pos]);
          continue;
        }
      }
      const last = nameRanges[nameRanges.length - 1];
      if (last && last[1] === fieldStart) last[1] = pos;
      else nameRanges.push([fieldStart, pos]);
    } else if (FAST_FIELDS.has(field)) {
      strings.set(field, [valueStart, pos]);
    } else {
      fast = false;
    }
  }
  const single = nameRanges.length === 1 ? nameRanges[0]! : null;
  if (knownRun && single && single[1] - single[0] === knownRun.length) return { fast, names: knownRun, strings };
  const names = joinRanges(bytes, nameRanges);
  recent.remember(names);
  return { fast, names, strings };
}

const RECENT_RUNS = 8;
/** Shorter runs cost little to walk and are not worth remembering. */
const MIN_REMEMBERED_RUN = 256;

/**
 * Runs of resource_names fields seen lately (private copies), most recent first. An Envoy repeats
 * its EDS names in every ACK, and Envoys behind one control plane mostly hold the same clusters.
 */
class RecentRuns {
  private readonly runs: Uint8Array[] = [];

  /** A remembered run that the message holds at `start`. Correct as a shortcut because a run is a
   * sequence of complete fields: parsing from `start` would step over exactly those bytes. */
  at(bytes: Uint8Array, start: number): Uint8Array | null {
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      const end = start + run.length;
      if (end > bytes.length || Buffer.compare(bytes.subarray(start, end), run) !== 0) continue;
      if (i > 0) {
        this.runs.splice(i, 1);
        this.runs.unshift(run);
      }
      return run;
    }
    return null;
  }

  remember(run: Uint8Array): void {
    if (run.length < MIN_REMEMBERED_RUN) return;
    this.runs.unshift(new Uint8Array(run));
    if (this.runs.length > RECENT_RUNS) this.runs.pop();
  }
}

/** The names' bytes: a view when they are contiguous (they always are from real clients). */
function joinRanges(bytes: Uint8Array, ranges: ReadonlyArray<[number, number]>): Uint8Array {
  if (ranges.length === 0) return EMPTY_BYTES;
  if (ranges.length === 1) return bytes.subarray(ranges[0]![0], ranges[0]![1]);
  return Buffer.concat(ranges.map(([s, e]) => bytes.subarray(s, e)));
}

/** Decodes a run of encoded resource_names fields (as kept in resource_names_bytes). */
export function decodeNames(encoded: Uint8Array): string[] {
  const reader = protobuf.Reader.create(encoded);
  const names: string[] = [];
  while (reader.pos < reader.len) {
    reader.uint32();
    names.push(reader.string());
  }
  return names;
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end);
}

const EMPTY_BYTES = new Uint8Array(0);
