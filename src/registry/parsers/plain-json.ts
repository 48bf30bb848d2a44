// The plain JSON form written by home-grown registries:
// {"host"|"address": "<ip>", "port": n, "weight"?: n, "metadata"?: {..},
//  "locality"?: {"region","zone","subZone"}, "enabled"?: bool, "id"?: string}
// Unknown top-level fields are ignored so registries can carry extra data without breaking us;
// inside `locality` every key must name a part (see normaliseLocality). Weight 0 = not serving.
import type { Instance } from '../../catalog/model.js';
import {
  accept,
  checkBoolean,
  checkId,
  checkIpLiteral,
  checkPort,
  checkWeight,
  describeValue,
  normaliseLocality,
  normaliseMetadata,
  ownField,
  reject,
  zoneIdNotes,
  type Checked,
  type JsonObject,
} from './validate-fields.js';

/**
 * Registries disagree on `host` versus `address`; either is accepted. When both are present
 * they must agree, because silently picking one would hide a broken registration.
 */
function checkAddressField(json: JsonObject): Checked<string> {
  const host = ownField(json, 'host');
  const address = ownField(json, 'address');
  if (host === undefined && address === undefined) {
    return reject('address is missing (expected "host" or "address")');
  }
  if (host !== undefined && address !== undefined && host !== address) {
    return reject(`host ${describeValue(host)} and address ${describeValue(address)} disagree`);
  }
  return host !== undefined ? checkIpLiteral('host', host) : checkIpLiteral('address', address);
}

export function parsePlainJsonRegistration(json: JsonObject, znodeName: string): Checked<Instance> {
  const address = checkAddressField(json);
  if (!address.ok) return address;
  const port = checkPort('port', ownField(json, 'port'));
  if (!port.ok) return port;
  const weight = checkWeight('weight', ownField(json, 'weight'));
  if (!weight.ok) return weight;
  const enabled = checkBoolean('enabled', ownField(json, 'enabled'), true);
  if (!enabled.ok) return enabled;
  const id = checkId('id', ownField(json, 'id'), znodeName);
  if (!id.ok) return id;
  const metadata = normaliseMetadata('metadata', ownField(json, 'metadata'));
  if (!metadata.ok) return metadata;
  const locality = normaliseLocality('locality', ownField(json, 'locality'));
  if (!locality.ok) return locality;
  const notes = zoneIdNotes(ownField(json, 'host') ?? ownField(json, 'address'));
  return accept({
    id: id.value,
    address: address.value,
    port: port.value,
    weight: weight.value,
    healthy: enabled.value && weight.value > 0,
    locality: locality.value,
    metadata: metadata.value,
    ...(notes.length > 0 ? { notes } : {}),
  });
}
