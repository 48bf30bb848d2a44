// Apache Curator `ServiceInstance` JSON, as written by Curator ServiceDiscovery and by Spring
// Cloud Zookeeper (whose payload is a ZookeeperInstance carrying `metadata`). The payload is
// an arbitrary user type, so only `payload.metadata` is read and any other shape is tolerated.
import type { Instance } from '../../catalog/model.js';
import {
  accept,
  checkBoolean,
  checkId,
  checkIpLiteral,
  checkPort,
  DEFAULT_WEIGHT,
  DRAINED_WEIGHT,
  isJsonObject,
  localityFromPairs,
  MAX_WEIGHT,
  normaliseMetadata,
  ownField,
  reject,
  zoneIdNotes,
  type Checked,
  type JsonObject,
} from './validate-fields.js';

/** Spring Cloud's `instance_status` values meaning "registered but not serving". */
const NOT_SERVING_STATUSES = new Set(['OUT_OF_SERVICE', 'DOWN']);

/**
 * Curator always writes `address` plus `serviceType` and `registrationTimeUTC`; Spring Cloud
 * also writes a payload object. Plain JSON registries may use `address` too, so `address`
 * alone is not enough to claim the registration is Curator's.
 */
export function isCuratorShape(json: JsonObject): boolean {
  if (typeof ownField(json, 'address') !== 'string') return false;
  return isJsonObject(ownField(json, 'payload')) || ownField(json, 'serviceType') !== undefined || ownField(json, 'registrationTimeUTC') !== undefined;
}

interface Endpoint {
  readonly port: number;
  readonly tls: boolean;
}

/** Curator leaves `port` null for TLS-only services and puts the port in `sslPort`. */
function checkEndpoint(json: JsonObject): Checked<Endpoint> {
  const port = ownField(json, 'port');
  const sslPort = ownField(json, 'sslPort');
  if (port !== undefined && port !== null) {
    const checked = checkPort('port', port);
    return checked.ok ? accept({ port: checked.value, tls: false }) : checked;
  }
  if (sslPort !== undefined && sslPort !== null) {
    const checked = checkPort('sslPort', sslPort);
    return checked.ok ? accept({ port: checked.value, tls: true }) : checked;
  }
  return reject('port is missing (neither port nor sslPort is set)');
}

/** Weight is not a Curator field; it can only travel in metadata, so a bad one is ignored. 0 = not serving. */
function weightFromMetadata(metadata: Readonly<Record<string, string>>): number {
  const text = metadata.weight;
  if (text === undefined || !/^[0-9]+$/.test(text)) return DEFAULT_WEIGHT;
  const weight = Number(text);
  return weight >= DRAINED_WEIGHT && weight <= MAX_WEIGHT ? weight : DEFAULT_WEIGHT;
}

function isNotServing(metadata: Readonly<Record<string, string>>): boolean {
  const status = metadata.instance_status;
  return status !== undefined && NOT_SERVING_STATUSES.has(status.toUpperCase());
}

/** The payload is user-defined: a payload without usable metadata simply contributes none. */
function payloadMetadata(json: JsonObject): Record<string, string> {
  const payload = ownField(json, 'payload');
  if (!isJsonObject(payload)) return {};
  const metadata = normaliseMetadata('payload.metadata', ownField(payload, 'metadata'));
  return metadata.ok ? metadata.value : {};
}

export function parseCuratorRegistration(json: JsonObject, znodeName: string): Checked<Instance> {
  const address = checkIpLiteral('address', ownField(json, 'address'));
  if (!address.ok) return address;
  const endpoint = checkEndpoint(json);
  if (!endpoint.ok) return endpoint;
  // Curator does not write `enabled` by default, so missing means serving.
  const enabled = checkBoolean('enabled', ownField(json, 'enabled'), true);
  if (!enabled.ok) return enabled;
  // DYNAMIC_SEQUENTIAL znode names carry a sequence suffix, so the JSON id is the real id.
  const id = checkId('id', ownField(json, 'id'), znodeName);
  if (!id.ok) return id;
  const metadata = payloadMetadata(json);
  if (endpoint.value.tls) metadata.tls = 'true';
  const weight = weightFromMetadata(metadata);
  const notes = zoneIdNotes(ownField(json, 'address'));
  return accept({
    id: id.value,
    address: address.value,
    port: endpoint.value.port,
    weight,
    healthy: enabled.value && !isNotServing(metadata) && weight > 0,
    // Spring Cloud Zookeeper puts `zone` in metadata; region and subZone follow the same rule (any spelling).
    locality: localityFromPairs(Object.entries(metadata)),
    metadata,
    ...(notes.length > 0 ? { notes } : {}),
  });
}
