// Closing a server call whose responses no longer leave. Ending it the polite way (status in
// trailers) queues behind the data the proxy never reads, so the call is reset instead
// (RST_STREAM CANCEL), which drops what the transport holds for it at once. grpc-js has no public
// API for that; its call object keeps the HTTP/2 stream a few wrappers down (ServerDuplexStream
// -> interceptor chain `nextCall` -> base call `stream`). When that shape changes, the fallback
// ends the call normally and the stream is still forgotten by zk-xds.
import http2 from 'node:http2';

interface ResettableStream {
  close(code?: number): void;
  readonly closed: boolean;
  readonly rstCode?: number;
}

function isHttp2Stream(x: unknown): x is ResettableStream {
  return typeof x === 'object' && x !== null && typeof (x as ResettableStream).close === 'function' && 'rstCode' in x && 'session' in x;
}

/** The HTTP/2 stream under a grpc-js server call, or null if it cannot be found. */
export function http2StreamOf(call: object): ResettableStream | null {
  let at: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && typeof at === 'object' && at !== null; depth++) {
    const stream = (at as { stream?: unknown }).stream;
    if (isHttp2Stream(stream)) return stream;
    at = (at as { nextCall?: unknown }).nextCall;
  }
  return null;
}

/** Resets the call's HTTP/2 stream; returns false if it had to fall back to `fallback`. */
export function resetCall(call: object, fallback: () => void): boolean {
  const stream = http2StreamOf(call);
  if (!stream) {
    fallback();
    return false;
  }
  if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  return true;
}
