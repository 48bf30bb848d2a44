// Istio's admission rules for ServiceEntry and WorkloadEntry that its CRD schema does not express
// (the webhook's semantic checks): host and address forms, port uniqueness, what each resolution
// allows, endpoint and label forms, exportTo. The schema (enums, types, required fields) is left to
// @kubernetes-models/istio. Written from Istio's documented behaviour and checked against Istio's
// own validation cases (test/unit/translate/service-entry-checks.test.ts). Pure.
import { isIP } from 'node:net';
import { isDns1123Subdomain, isDnsLabel, isLabelKey, isLabelValue } from './kubernetes-names.js';

export interface CheckResult {
  /** Reasons Istio would reject the object. */
  readonly errors: string[];
  /** Reasons Istio would accept it with a warning. */
  readonly warnings: string[];
}

/** A ServiceEntry spec in manifest JSON, loosely typed: checks run on whatever arrives. */
export interface ServiceEntrySpecInput {
  hosts?: readonly string[];
  addresses?: readonly string[];
  ports?: ReadonlyArray<PortInput | null>;
  location?: string;
  resolution?: string;
  endpoints?: readonly WorkloadEntryInput[];
  workloadSelector?: { labels?: Readonly<Record<string, string>> };
  exportTo?: readonly string[];
}

export interface PortInput {
  number?: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export interface WorkloadEntryInput {
  address?: string;
  ports?: Readonly<Record<string, number>>;
  labels?: Readonly<Record<string, string>>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ObjectMetaInput {
  name?: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
}

const UNIX_PREFIX = 'unix://';
/** The label that sends a service's traffic through a waypoint proxy. */
const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);
const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);
const KNOWN_PROTOCOLS = new Set([...HTTP_PROTOCOLS, ...TLS_PROTOCOLS, 'TCP', 'UDP', 'MONGO', 'REDIS', 'MYSQL']);
const RESOLUTIONS = new Set(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']);
const WILDCARD_LABEL = /^\*$|^\*?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface CheckOptions {
  /**
   * Istio 1.<minor> whose rules apply (default 29, the istio/api version vendored in protos/).
   * Rules that changed: DYNAMIC_DNS exists from 1.28; with MESH_INTERNAL it is rejected before
   * 1.30 (from 1.30 only with a waypoint); before 1.29 any workloadSelector draws a warning.
   */
  readonly istioMinor?: number;
}

const DEFAULT_ISTIO_MINOR = 29;

/** Checks one ServiceEntry (metadata optional: its labels matter to some rules). */
export function checkServiceEntry(spec: ServiceEntrySpecInput, meta: ObjectMetaInput = {}, opts: CheckOptions = {}): CheckResult {
  const minor = opts.istioMinor ?? DEFAULT_ISTIO_MINOR;
  const out = new Collector();
  // Istio checks the selector first and stops there when it is malformed.
  if (spec.workloadSelector) {
    checkLabels('workloadSelector.labels', spec.workloadSelector.labels ?? {}, out);
    if (out.hasErrors()) return out.result();
  }
  checkMeta(meta, out);
  const hosts = spec.hosts ?? [];
  const addresses = spec.addresses ?? [];
  const ports = spec.ports ?? [];
  const endpoints = spec.endpoints ?? [];
  const resolution = spec.resolution ?? 'NONE';

  if (hosts.length === 0) out.error('hosts: at least one host is required');
  hosts.forEach((h, i) => {
    checkHost(`hosts[${i}]`, h, out);
  });
  if (addresses.length > 0 && hosts.length > 1) out.warn('addresses: one set of addresses is shared by several hosts');
  const cidr = addresses.some((a) => a.includes('/'));
  addresses.forEach((a, i) => {
    if (!isIpOrCidr(a)) out.error(`addresses[${i}]: "${a}" is neither an IP address nor a CIDR block`);
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') out.error('addresses: CIDR blocks are allowed only with resolution NONE or STATIC');

  const portNames = checkPorts(ports, out);
  const protocols = ports.filter((p): p is PortInput => p !== null).map((p) => (p.protocol ?? '').toUpperCase());

  if (spec.workloadSelector) {
    if (endpoints.length > 0) out.error('workloadSelector and endpoints: only one of them may be set');
    if (resolution === 'NONE' || minor < 29) out.warn('workloadSelector: the selected workloads are used as endpoints only with resolution STATIC or DNS');
  }
  if (!RESOLUTIONS.has(resolution) || (resolution === 'DYNAMIC_DNS' && minor < 28))
    out.error(`resolution: "${resolution}" is not a resolution of Istio 1.${minor}`);
  else checkResolution(spec, resolution, portNames, protocols, meta, minor, out);

  if (resolution !== 'NONE' && hosts.length > 1 && protocols.some((p) => !HTTP_PROTOCOLS.has(p) && !TLS_PROTOCOLS.has(p))) {
    out.error('hosts: several hosts need HTTP or TLS ports to be told apart');
  }
  if (resolution === 'NONE' && addresses.length === 0 && protocols.some((p) => p === '' || p === 'TCP')) {
    out.warn('addresses: TCP (or unset) protocol ports without addresses match all traffic on their port');
  }
  checkExportTo(spec.exportTo ?? [], meta.namespace, out);
  return out.result();
}

/** Checks one WorkloadEntry spec (also the form of a ServiceEntry endpoint). */
export function checkWorkloadEntry(spec: WorkloadEntryInput, field = 'workloadEntry'): CheckResult {
  const out = new Collector();
  const address = spec.address ?? '';
  if (address === '') {
    if (spec.network) out.warn(`${field}.address: unset, the endpoint is reached through its network's gateway`);
    else out.error(`${field}.address: required unless a network is set`);
  } else if (address.startsWith(UNIX_PREFIX)) {
    checkUnixEndpoint(field, spec, out);
  } else if (isIP(address) === 0 && !isFqdn(address)) {
    out.error(`${field}.address: "${address}" is neither an IP address nor a host name`);
  }
  checkEndpointCommon(field, spec, out);
  return out.result();
}

function checkMeta(meta: ObjectMetaInput, out: Collector): void {
  if (meta.name !== undefined && !isDns1123Subdomain(meta.name)) out.error(`metadata.name: "${meta.name}" is not a DNS-1123 subdomain`);
  if (meta.namespace !== undefined && !isDnsLabel(meta.namespace)) out.error(`metadata.namespace: "${meta.namespace}" is not a DNS-1123 label`);
  checkLabels('metadata.labels', meta.labels ?? {}, out);
}

function checkHost(field: string, host: string, out: Collector): void {
  if (host === '*') out.error(`${field}: the full wildcard "*" is not allowed`);
  else if (!isWildcardDomain(host)) out.error(`${field}: "${host}" is not a host name (a wildcard may only be the first label)`);
  else if (host.includes('*') && !host.startsWith('*.'))
    out.warn(`${field}: partial wildcard "${host}" is matched as "*.${host.slice(1)}" only by some proxies`);
}

function checkPorts(ports: ReadonlyArray<PortInput | null>, out: Collector): Set<string> {
  const names = new Set<string>();
  const numbers = new Set<number>();
  ports.forEach((port, i) => {
    const field = `ports[${i}]`;
    if (port === null) {
      out.error(`${field}: must not be null`);
      return;
    }
    const name = port.name ?? '';
    if (!isDnsLabel(name)) out.error(`${field}.name: "${name}" is not a DNS-1123 label`);
    if (names.has(name)) out.error(`${field}.name: "${name}" is used twice`);
    names.add(name);
    const number = port.number ?? 0;
    if (!isPort(number)) out.error(`${field}.number: ${number} is not in 1..65535`);
    if (numbers.has(number)) out.error(`${field}.number: ${number} is used twice`);
    numbers.add(number);
    if (port.targetPort !== undefined && port.targetPort !== 0 && !isPort(port.targetPort))
      out.error(`${field}.targetPort: ${port.targetPort} is not in 1..65535`);
    const protocol = (port.protocol ?? '').toUpperCase();
    if (protocol !== '' && !KNOWN_PROTOCOLS.has(protocol)) out.error(`${field}.protocol: "${port.protocol}" is not a protocol Istio knows`);
  });
  return names;
}

function checkResolution(
  spec: ServiceEntrySpecInput,
  resolution: string,
  portNames: ReadonlySet<string>,
  protocols: readonly string[],
  meta: ObjectMetaInput,
  minor: number,
  out: Collector,
): void {
  const endpoints = spec.endpoints ?? [];
  const hosts = spec.hosts ?? [];
  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) out.error('endpoints: not allowed with resolution NONE');
      return;
    case 'STATIC': {
      const unix = endpoints.some((e) => (e.address ?? '').startsWith(UNIX_PREFIX));
      if (unix && (spec.ports ?? []).length !== 1) out.error('ports: unix socket endpoints need exactly one service port');
      endpoints.forEach((e, i) => {
        checkStaticEndpoint(`endpoints[${i}]`, e, portNames, out);
      });
      return;
    }
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) out.error('endpoints: resolution DNS_ROUND_ROBIN allows at most one endpoint');
      if (endpoints.length === 0) {
        hosts.forEach((h, i) => {
          if (!isFqdn(h)) out.error(`hosts[${i}]: "${h}" must be a plain host name when resolution ${resolution} has no endpoints`);
        });
      }
      endpoints.forEach((e, i) => {
        checkDnsEndpoint(`endpoints[${i}]`, e, portNames, out);
      });
      return;
    case 'DYNAMIC_DNS':
      if (endpoints.length > 0) out.error('endpoints: not allowed with resolution DYNAMIC_DNS');
      if ((spec.addresses ?? []).length > 0) out.error('addresses: not allowed with resolution DYNAMIC_DNS');
      hosts.forEach((h, i) => {
        if (!h.startsWith('*.')) out.error(`hosts[${i}]: resolution DYNAMIC_DNS needs wildcard hosts, got "${h}"`);
      });
      if (protocols.some((p) => !HTTP_PROTOCOLS.has(p) && !TLS_PROTOCOLS.has(p)))
        out.error('ports: resolution DYNAMIC_DNS supports only HTTP and TLS protocols');
      if (spec.location === 'MESH_INTERNAL' && minor < 30) out.error(`location: MESH_INTERNAL is not allowed with resolution DYNAMIC_DNS in Istio 1.${minor}`);
      else if (spec.location === 'MESH_INTERNAL' && meta.labels?.[USE_WAYPOINT_LABEL])
        out.error('location: MESH_INTERNAL with resolution DYNAMIC_DNS cannot use a waypoint');
      return;
  }
}

function checkStaticEndpoint(field: string, e: WorkloadEntryInput, portNames: ReadonlySet<string>, out: Collector): void {
  const address = e.address ?? '';
  if (address.startsWith(UNIX_PREFIX)) checkUnixEndpoint(field, e, out);
  else if (address === '') {
    if (e.network) out.warn(`${field}.address: unset, the endpoint is reached through its network's gateway`);
    else out.error(`${field}.address: required with resolution STATIC`);
  } else if (isIP(address) === 0) out.error(`${field}.address: "${address}" must be an IP address with resolution STATIC`);
  checkEndpointPortNames(field, e, portNames, out);
  checkEndpointCommon(field, e, out);
}

function checkDnsEndpoint(field: string, e: WorkloadEntryInput, portNames: ReadonlySet<string>, out: Collector): void {
  const address = e.address ?? '';
  if (address.startsWith(UNIX_PREFIX)) out.error(`${field}.address: unix sockets need resolution STATIC`);
  else if (isIP(address) === 0 && !isFqdn(address)) out.error(`${field}.address: "${address}" is neither an IP address nor a host name`);
  checkEndpointPortNames(field, e, portNames, out);
  checkEndpointCommon(field, e, out);
}

function checkUnixEndpoint(field: string, e: WorkloadEntryInput, out: Collector): void {
  const path = (e.address ?? '').slice(UNIX_PREFIX.length);
  // Abstract sockets (@name) have no path; any other socket needs an absolute file path.
  if (path === '' || (!path.startsWith('@') && (!path.startsWith('/') || path.endsWith('/'))))
    out.error(`${field}.address: "${e.address}" is not an absolute socket path`);
  if (Object.keys(e.ports ?? {}).length > 0) out.error(`${field}.ports: a unix socket endpoint has no ports`);
}

function checkEndpointPortNames(field: string, e: WorkloadEntryInput, portNames: ReadonlySet<string>, out: Collector): void {
  for (const name of Object.keys(e.ports ?? {})) {
    if (!portNames.has(name)) out.error(`${field}.ports: "${name}" is not a port of the ServiceEntry`);
  }
}

function checkEndpointCommon(field: string, e: WorkloadEntryInput, out: Collector): void {
  for (const [name, number] of Object.entries(e.ports ?? {})) {
    if (!isPort(number)) out.error(`${field}.ports["${name}"]: ${number} is not in 1..65535`);
  }
  checkLabels(`${field}.labels`, e.labels ?? {}, out);
  if (e.locality !== undefined && e.locality !== '') {
    const parts = e.locality.split('/');
    if (parts.length > 3 || parts.some((p) => p === '')) out.error(`${field}.locality: "${e.locality}" is not region[/zone[/subzone]]`);
  }
  if (e.serviceAccount && !isDns1123Subdomain(e.serviceAccount)) out.error(`${field}.serviceAccount: "${e.serviceAccount}" is not a DNS-1123 subdomain`);
  if (e.weight !== undefined && (!Number.isInteger(e.weight) || e.weight < 0 || e.weight > 0xffffffff))
    out.error(`${field}.weight: ${e.weight} is not a uint32`);
}

function checkLabels(field: string, labels: Readonly<Record<string, string>>, out: Collector): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!isLabelKey(key)) out.error(`${field}: "${key}" is not a label key`);
    else if (!isLabelValue(value)) out.error(`${field}["${key}"]: "${value}" is not a label value`);
  }
}

function checkExportTo(exportTo: readonly string[], namespace: string | undefined, out: Collector): void {
  const seen = new Set<string>();
  exportTo.forEach((e, i) => {
    if (e !== '*' && e !== '.' && e !== '~' && !isDnsLabel(e)) out.error(`exportTo[${i}]: "${e}" is not *, ., ~ or a namespace`);
    const key = e === '.' && namespace ? namespace : e;
    if (seen.has(key)) out.error(`exportTo[${i}]: "${e}" is listed twice`);
    seen.add(key);
  });
  if (exportTo.includes('~') && exportTo.length > 1) out.error('exportTo: "~" cannot be combined with other entries');
  if (exportTo.includes('*') && exportTo.length > 1) out.error('exportTo: "*" cannot be combined with other entries');
}

/** A host name, optionally with `*` (alone or as a prefix) as its first label. */
function isWildcardDomain(host: string): boolean {
  if (host.length === 0 || host.length > 255) return false;
  const [first, ...rest] = host.split('.');
  return WILDCARD_LABEL.test(first!) && (rest.length === 0 || dnsLabelsValid(rest));
}

/** A host name without wildcards (a trailing dot allowed), whose last label is not all digits. */
function isFqdn(host: string): boolean {
  return host.length > 0 && host.length <= 255 && dnsLabelsValid(host.split('.'));
}

function dnsLabelsValid(labels: readonly string[]): boolean {
  const parts = labels[labels.length - 1] === '' && labels.length > 1 ? labels.slice(0, -1) : labels;
  if (/^[0-9]+$/.test(parts[parts.length - 1]!)) return false;
  return parts.every(isDnsLabel);
}

function isIpOrCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return isIP(value) !== 0;
  const family = isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

class Collector {
  private readonly errors: string[] = [];
  private readonly warnings: string[] = [];
  error(message: string): void {
    this.errors.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
  hasErrors(): boolean {
    return this.errors.length > 0;
  }
  result(): CheckResult {
    return { errors: this.errors, warnings: this.warnings };
  }
}
