// Decodes DiscoveryResponse and DeltaDiscoveryResponse with the wire scanner, leaving resources as
// byte ranges of the received message. proto-loader's decoder built two objects, a Buffer slice
// and a type_url string per resource: at 2,000 proxies x 2,000 resources that (and its garbage)
// was the largest cost left in the generator. Requests are still encoded with proto-loader.
//   DiscoveryResponse      { version_info = 1; resources = 2 (Any); type_url = 4; nonce = 5 }
//   DeltaDiscoveryResponse { system_version_info = 1; resources = 2 (Resource); type_url = 4;
//                            nonce = 5; removed_resources = 6; removed_resource_names = 8 {name = 1} }
//   Resource { version = 1; resource = 2 (Any); name = 3; resource_name = 8 {name = 1} }
//   Any      { type_url = 1; value = 2 }
import { WIRE_LEN, WireReader, stringField } from './wire-scan.js';

/** The resources of one response, as ranges of the message buffer (no per-resource objects). */
export interface ResourceList {
  readonly buf: Buffer;
  /** SotW entries are Any messages; delta entries are discovery Resource messages. */
  readonly form: 'any' | 'resource';
  /** Payload range of entry i: [starts[i], ends[i]). */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** When the entries were encoded back to back with nothing between them: their whole range. */
  readonly region: { readonly start: number; readonly end: number } | null;
}

export interface DecodedResponse {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly resources: ResourceList;
  /** Delta only. */
  readonly removed: readonly string[];
}

/** One entry, decoded (only on a scan-cache miss). */
export interface ResourceEntry {
  readonly typeUrl: string;
  readonly value: Uint8Array;
  /** Delta: the name the server gave the resource. */
  readonly name?: string;
}

export function decodeSotwResponse(buf: Buffer): DecodedResponse {
  return decode(buf, 'any');
}

export function decodeDeltaResponse(buf: Buffer): DecodedResponse {
  return decode(buf, 'resource');
}

function decode(buf: Buffer, form: ResourceList['form']): DecodedResponse {
  const r = new WireReader(buf);
  let typeUrl = '';
  let version = '';
  let nonce = '';
  const removed: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let regionStart = -1;
  let regionEnd = -1;
  let contiguous = true;
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    switch (r.field) {
      case 1:
        version = r.string();
        break;
      case 2:
        if (regionStart < 0) regionStart = r.fieldStart;
        else if (r.fieldStart !== regionEnd) contiguous = false;
        regionEnd = r.valueEnd;
        starts.push(r.valueStart);
        ends.push(r.valueEnd);
        break;
      case 4:
        typeUrl = r.string();
        break;
      case 5:
        nonce = r.string();
        break;
      case 6:
        if (form === 'resource') removed.push(r.string());
        break;
      case 8:
        if (form === 'resource') removed.push(stringField(buf, r.valueStart, r.valueEnd, 1) ?? '');
        break;
    }
  }
  const region = starts.length > 0 && contiguous ? { start: regionStart, end: regionEnd } : null;
  return { typeUrl, version, nonce, resources: { buf, form, starts, ends, region }, removed };
}

export function resourceAt(list: ResourceList, i: number): ResourceEntry {
  const { buf } = list;
  if (list.form === 'any') return anyAt(buf, list.starts[i]!, list.ends[i]!);
  const r = new WireReader(buf, list.starts[i]!, list.ends[i]!);
  let name: string | undefined;
  let any: ResourceEntry = { typeUrl: '', value: new Uint8Array(0) };
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 3) name = r.string();
    else if (r.field === 8 && name === undefined) name = stringField(buf, r.valueStart, r.valueEnd, 1);
    else if (r.field === 2) any = anyAt(buf, r.valueStart, r.valueEnd);
  }
  return name === undefined ? any : { ...any, name };
}

function anyAt(buf: Uint8Array, start: number, end: number): ResourceEntry {
  const r = new WireReader(buf, start, end);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 1) typeUrl = r.string();
    else if (r.field === 2) value = buf.subarray(r.valueStart, r.valueEnd);
  }
  return { typeUrl, value };
}
