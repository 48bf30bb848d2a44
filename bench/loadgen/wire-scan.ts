// A minimal protobuf wire-format scanner: walks the fields of one message in a byte range without
// building objects, so a simulated proxy can pull the two or three names it needs out of a
// resource. Fully decoding thousands of resources per proxy with protobufjs would make the load
// generator, not the server, the bottleneck.
//
// Scope: proto3 wire types 0 (varint), 1 (64-bit), 2 (length-delimited) and 5 (32-bit). Groups
// (3/4) do not occur in proto3 messages and are rejected.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class WireFormatError extends Error {}

/**
 * Iterates the fields of a message in buf[start, end). After next() returns true, `field` and
 * `wireType` describe the field; for LEN fields its payload is buf[valueStart, valueEnd), for
 * varints the value is in `varint` (exact up to 2^53; enough for enums, lengths and counts).
 * One reader is reused for a whole message: no allocation per field.
 */
export class WireReader {
  /** Offset of the current field's key: [fieldStart, valueEnd) is the whole field as encoded. */
  fieldStart = 0;
  field = 0;
  wireType = 0;
  varint = 0;
  valueStart = 0;
  valueEnd = 0;
  private pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    if (end > buf.length || start > end) throw new WireFormatError(`range [${start}, ${end}) outside a buffer of ${buf.length} bytes`);
    this.pos = start;
  }

  next(): boolean {
    if (this.pos >= this.end) return false;
    this.fieldStart = this.pos;
    const key = this.readVarint();
    this.field = Math.floor(key / 8);
    this.wireType = key & 7;
    if (this.field === 0) throw new WireFormatError(`field number 0 at byte ${this.pos}`);
    switch (this.wireType) {
      case WIRE_VARINT:
        this.varint = this.readVarint();
        break;
      case WIRE_FIXED64:
        this.skip(8);
        break;
      case WIRE_LEN: {
        const len = this.readVarint();
        this.valueStart = this.pos;
        this.skip(len);
        this.valueEnd = this.pos;
        break;
      }
      case WIRE_FIXED32:
        this.skip(4);
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${this.wireType} (field ${this.field})`);
    }
    if (this.wireType !== WIRE_LEN) this.valueEnd = this.pos;
    return true;
  }

  /** The current LEN field as a UTF-8 string. */
  string(): string {
    return decodeUtf8(this.buf, this.valueStart, this.valueEnd);
  }

  private skip(n: number): void {
    this.pos += n;
    if (this.pos > this.end) throw new WireFormatError(`field ${this.field} runs past the end of its message`);
  }

  private readVarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const b = this.buf[this.pos++]!;
      // Multiplication, not shifts: JS bit operators are 32-bit and would wrap past bit 31.
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }
}

/** The last occurrence of a string field (protobuf: the last value of a singular field wins). */
export function stringField(buf: Uint8Array, start: number, end: number, field: number): string | undefined {
  const r = new WireReader(buf, start, end);
  let found: string | undefined;
  while (r.next()) if (r.field === field && r.wireType === WIRE_LEN) found = r.string();
  return found;
}

/** The last occurrence of a varint field. */
export function varintField(buf: Uint8Array, start: number, end: number, field: number): number | undefined {
  const r = new WireReader(buf, start, end);
  let found: number | undefined;
  while (r.next()) if (r.field === field && r.wireType === WIRE_VARINT) found = r.varint;
  return found;
}

/** Calls fn with the byte range of every occurrence of a LEN field (repeated submessages, strings). */
export function forEachLen(buf: Uint8Array, start: number, end: number, field: number, fn: (start: number, end: number) => void): void {
  const r = new WireReader(buf, start, end);
  while (r.next()) if (r.field === field && r.wireType === WIRE_LEN) fn(r.valueStart, r.valueEnd);
}

/** How many times a LEN field occurs (the length of a repeated message field). */
export function countLen(buf: Uint8Array, start: number, end: number, field: number): number {
  const r = new WireReader(buf, start, end);
  let n = 0;
  while (r.next()) if (r.field === field && r.wireType === WIRE_LEN) n++;
  return n;
}

const utf8 = new TextDecoder('utf-8');

/**
 * UTF-8 bytes to a string. xDS names are short ASCII almost always: building those directly
 * avoids the native-call overhead of TextDecoder, which dominates for 10-40 byte strings.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 48) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(buf.subarray(start, end));
}
