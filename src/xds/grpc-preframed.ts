// grpc-js serializes each message and then copies it into a new buffer behind the gRPC length
// prefix. Responses framed by response-frames.ts already carry that prefix and are shared by many
// streams; this teaches grpc-js's server call to write such a frame as it is. It replaces one
// method of grpc-js's internal BaseServerInterceptingCall (checked against the version in
// package-lock.json by test/unit/xds/grpc-preframed.test.ts); if that class ever changes shape,
// nothing is replaced and responses are framed by grpc-js again (the serializer returns the
// message part of the frame), only slower.
import { createRequire } from 'node:module';

/** The key under which a response object carries its whole gRPC frame. */
export const GRPC_FRAME: unique symbol = Symbol('zk-xds gRPC frame');

type SerializeMessage = (this: unknown, value: unknown) => Buffer;
interface ServerCallPrototype {
  serializeMessage?: SerializeMessage;
  [installed]?: true;
}
const installed = Symbol('zk-xds pre-framed send installed');

let state: boolean | undefined;

/** Installs the pass-through once; true when grpc-js now writes pre-framed responses as they are. */
export function installPreframedSend(): boolean {
  if (state !== undefined) return state;
  try {
    const require = createRequire(import.meta.url);
    const internals = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: ServerCallPrototype } };
    const proto = internals.BaseServerInterceptingCall?.prototype;
    const original = proto?.serializeMessage;
    if (!proto || typeof original !== 'function') return (state = false);
    if (!proto[installed]) {
      proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
        const frame = (value as { [GRPC_FRAME]?: Buffer } | null)?.[GRPC_FRAME];
        return frame ?? original.call(this, value);
      };
      proto[installed] = true;
    }
    return (state = true);
  } catch {
    return (state = false);
  }
}
