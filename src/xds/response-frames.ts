// Each SotW response is a body many streams share (see shared-bodies.ts) plus the stream's nonce.
// Adding the nonce per stream cost a copy of the body, and grpc-js copied it once more behind its
// 5-byte length prefix: two allocations and copies per response, the largest item of the churn
// profile after GC. Here a response is framed once, prefix included, and a frame made for a shared
// body is reused by every stream that may take its nonce.
//
// Nonces come from one counter for the whole process, so that they still count up within each
// stream (its ACK bookkeeping relies on that: stream-base.ts) when streams share them: a stream
// takes a shared frame only when the frame's nonce is above the last one it sent for the type, and
// otherwise gets a frame of its own with a fresh nonce (which then becomes the shared one).
import protobuf from 'protobufjs';
import { controlPlaneField } from './discovery-messages.js';

let lastNonce = 0;

/** A nonce above every nonce handed out before, in any stream of this process. */
export function freshNonce(): number {
  return ++lastNonce;
}

export interface ResponseFrame {
  readonly nonce: number;
  /** A whole gRPC message: compressed flag, big-endian length, DiscoveryResponse bytes. */
  readonly frame: Buffer;
}

/** The latest frame made of each body (bodies are shared objects: see shared-bodies.ts). */
const frames = new WeakMap<Uint8Array, ResponseFrame>();

/**
 * A framed DiscoveryResponse of `body` (fields 1, 2 and 4) whose nonce is above `afterNonce`:
 * the body's shared frame when its nonce allows, else a new one that becomes the shared frame.
 */
export function frameOf(body: Uint8Array, afterNonce: number): ResponseFrame {
  const shared = frames.get(body);
  if (shared && shared.nonce > afterNonce) return shared;
  const made = buildFrame(body, freshNonce());
  frames.set(body, made);
  return made;
}

function buildFrame(body: Uint8Array, nonce: number): ResponseFrame {
  const nonceField = protobuf.Writer.create().uint32(0x2a).string(String(nonce)).finish();
  const length = body.length + nonceField.length + controlPlaneField.length;
  const frame = Buffer.allocUnsafe(5 + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  frame.set(body, 5);
  frame.set(nonceField, 5 + body.length);
  frame.set(controlPlaneField, 5 + body.length + nonceField.length);
  return { nonce, frame };
}
