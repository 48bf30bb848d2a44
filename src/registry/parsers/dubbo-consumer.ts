// Apache Dubbo 2.x consumer registrations: `/dubbo/<interface>/consumers/<znode>`, the znode name a
// URL-encoded `consumer://10.0.0.5/org.example.Greeter?application=web&category=consumers&..`.
// They record who calls whom: the consumer's `application` calls the interface (with the group
// and version it asked for). Sidecar scopes are learned from them (catalog/scope.ts).
import { describeValue, reject, accept, type Checked } from './validate-fields.js';

export interface DubboConsumer {
  /** The calling application (becomes the node cluster whose scope it feeds). */
  readonly application: string;
  readonly interface: string;
  /** '' = unset, '*' = any. */
  readonly group: string;
  /** '' = unset, '*' = any. */
  readonly version: string;
}

export function parseDubboConsumer(iface: string, znodeName: string): Checked<DubboConsumer> {
  let url: string;
  try {
    url = decodeURIComponent(znodeName);
  } catch {
    return reject('znode name is not valid URL encoding');
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?]*(\/[^?]*)?(?:\?(.*))?$/s.exec(url);
  if (!m) return reject(`znode name ${describeValue(url)} is not a consumer url (consumer://host/interface?params)`);
  const params = new Map<string, string>();
  for (const part of (m[3] ?? '').split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    params.set(decode(part.slice(0, eq)), decode(part.slice(eq + 1)));
  }
  const side = params.get('side');
  if (m[1]!.toLowerCase() !== 'consumer' && side !== 'consumer') return reject(`${m[1]}:// url with side ${describeValue(side ?? '')} is not a consumer`);
  const application = params.get('application') ?? '';
  if (application === '') return reject('consumer url has no application parameter');
  return accept({
    application,
    // The znode's interface is what providers are read under; the URL's own may be a generic one.
    interface: iface,
    group: params.get('group') ?? '',
    version: params.get('version') ?? '',
  });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
