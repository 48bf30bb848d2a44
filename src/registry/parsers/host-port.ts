// The `host:port` text form: `10.0.0.1:8080` or `[fd00::1]:8080`, used as znode data or,
// by home-grown registries, as the znode name itself.
import { NO_LOCALITY, type Instance } from '../../catalog/model.js';
import { accept, checkIpLiteral, checkPort, DEFAULT_WEIGHT, reject, zoneIdNotes, type Checked } from './validate-fields.js';

export interface HostPort {
  readonly address: string;
  readonly port: number;
  /** Set when an IPv6 zone id was removed from the address. */
  readonly notes?: string[];
}

interface HostPortText {
  readonly host: string;
  readonly port: string;
}

/** Splits without judging the parts; the reason never echoes the whole text. */
function splitHostPort(text: string): Checked<HostPortText> {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return reject('text is not host:port (unclosed "[")');
    if (text[close + 1] !== ':') return reject('text is not host:port (no ":port" after "]")');
    return accept({ host: text.slice(0, close + 1), port: text.slice(close + 2) });
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return reject('text is not host:port (no ":" found)');
  const host = text.slice(0, colon);
  if (host.includes(':')) {
    return reject('text is not host:port (an IPv6 address needs brackets, e.g. [fd00::1]:8080)');
  }
  return accept({ host, port: text.slice(colon + 1) });
}

/** Parses `host:port`; surrounding whitespace and newlines are tolerated. */
export function parseHostPort(text: string): Checked<HostPort> {
  const split = splitHostPort(text.trim());
  if (!split.ok) return split;
  const address = checkIpLiteral('address', split.value.host);
  if (!address.ok) return address;
  const port = checkPort('port', split.value.port);
  if (!port.ok) return port;
  const notes = zoneIdNotes(split.value.host);
  return accept({ address: address.value, port: port.value, ...(notes.length > 0 ? { notes } : {}) });
}

/** The text form carries no id, weight, health or metadata, so those take their defaults. */
export function parseHostPortRegistration(text: string, znodeName: string): Checked<Instance> {
  const hostPort = parseHostPort(text);
  if (!hostPort.ok) return hostPort;
  return accept({
    id: znodeName,
    address: hostPort.value.address,
    port: hostPort.value.port,
    weight: DEFAULT_WEIGHT,
    healthy: true,
    locality: NO_LOCALITY,
    metadata: {},
    ...(hostPort.value.notes ? { notes: hostPort.value.notes } : {}),
  });
}
