// One registration znode to the service entries it contributes, per root layout. Most
// registrations give one instance of one service; a Dubbo 3 application also gives one instance
// per protocol endpoint listed in its `dubbo.endpoints` metadata (a service per protocol, so each
// has one port).
import type { Instance, RegistrationFormat, ServiceIdentity } from '../../catalog/model.js';
import { parseDubboProvider } from './dubbo-provider.js';
import { parseRegistration } from './detect-format.js';
import { checkPort, describeKind, describeValue, isJsonObject, ownField, reject, type Checked } from './validate-fields.js';

export interface RegistrationEntry {
  readonly identity: ServiceIdentity;
  readonly format: RegistrationFormat;
  readonly instance: Instance;
}

export type RegistrationOutcome = { readonly ok: true; readonly entries: readonly RegistrationEntry[] } | { readonly ok: false; readonly reason: string };

/** The metadata key Dubbo 3 writes its protocol endpoints under (a JSON array as a string). */
export const DUBBO_ENDPOINTS_KEY = 'dubbo.endpoints';

/** `<root>/<service>/<child>`: Curator, Spring Cloud, Dubbo 3 application, plain JSON or host:port. */
export function parseServiceChild(service: string, child: string, data: Buffer | null): RegistrationOutcome {
  const outcome = parseRegistration(child, data);
  if (!outcome.ok) return outcome;
  const endpointsText = outcome.instance.metadata[DUBBO_ENDPOINTS_KEY];
  if (endpointsText === undefined)
    return { ok: true, entries: [{ identity: { kind: 'service', name: service }, format: outcome.format, instance: outcome.instance }] };
  const endpoints = parseDubboEndpoints(endpointsText);
  if (!endpoints.ok) return endpoints;
  // The application's own entry is on its registered port: it speaks that endpoint's protocol
  // (else a sidecar would take Dubbo's binary protocol for HTTP). A declared protocol stays.
  const ownProtocol = endpoints.value.find((e) => e.port === outcome.instance.port)?.protocol;
  const primaryInstance =
    ownProtocol !== undefined && outcome.instance.metadata.protocol === undefined
      ? { ...outcome.instance, metadata: { ...outcome.instance.metadata, protocol: ownProtocol } }
      : outcome.instance;
  const primary: RegistrationEntry = { identity: { kind: 'service', name: service }, format: outcome.format, instance: primaryInstance };
  const perProtocol = endpoints.value.map(
    (e): RegistrationEntry => ({
      identity: { kind: 'dubbo-application', application: service, protocol: e.protocol },
      format: 'dubbo-app',
      instance: { ...outcome.instance, port: e.port, metadata: { ...outcome.instance.metadata, protocol: e.protocol } },
    }),
  );
  return { ok: true, entries: [primary, ...perProtocol] };
}

/** `<root>/<interface>/providers/<url-encoded provider url>`: a Dubbo 2 provider. */
export function parseDubboChild(iface: string, child: string, data: Buffer | null): RegistrationOutcome {
  const parsed = parseDubboProvider(child, data);
  if (!parsed.ok) return parsed;
  const { group, version, instance } = parsed.value;
  return { ok: true, entries: [{ identity: { kind: 'dubbo-interface', interface: iface, group, version }, format: 'dubbo', instance }] };
}

interface DubboEndpoint {
  readonly protocol: string;
  readonly port: number;
}

/** `[{"port":20880,"protocol":"dubbo"},{"port":50051,"protocol":"tri"}]`; one entry per protocol. */
export function parseDubboEndpoints(text: string): Checked<DubboEndpoint[]> {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return reject(`metadata ${DUBBO_ENDPOINTS_KEY} is not valid json`);
  }
  if (!Array.isArray(value)) return reject(`metadata ${DUBBO_ENDPOINTS_KEY} must be an array, got ${describeKind(value)}`);
  const seen = new Map<string, DubboEndpoint>();
  for (const [i, entry] of value.entries()) {
    if (!isJsonObject(entry)) return reject(`metadata ${DUBBO_ENDPOINTS_KEY}[${i}] must be an object`);
    const protocol = ownField(entry, 'protocol');
    if (protocol === undefined || protocol === null) return reject(`metadata ${DUBBO_ENDPOINTS_KEY}[${i}].protocol is missing`);
    if (typeof protocol !== 'string' || protocol === '')
      return reject(`metadata ${DUBBO_ENDPOINTS_KEY}[${i}].protocol ${describeValue(protocol)} is not a protocol name`);
    const port = checkPort(`metadata ${DUBBO_ENDPOINTS_KEY}[${i}].port`, ownField(entry, 'port'));
    if (!port.ok) return port;
    const previous = seen.get(protocol);
    if (previous && previous.port !== port.value) return reject(`metadata ${DUBBO_ENDPOINTS_KEY} lists protocol ${describeValue(protocol)} on two ports`);
    seen.set(protocol, { protocol, port: port.value });
  }
  return { ok: true, value: [...seen.values()] };
}
