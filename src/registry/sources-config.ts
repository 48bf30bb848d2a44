// Where services are read from: one or more ZooKeeper ensembles, each with its own connect
// string, chroot, credentials and roots, and how roots are laid out. Given as a YAML or JSON file
// (`--sources-file`), or built from the single-ensemble flags (`--zk`, `--zk-root`, `--zk-auth-file`).
import { Ajv, type ErrorObject } from 'ajv';
import { DEFAULT_NAMING, type NamingOptions } from '../catalog/naming.js';
import type { TreeLayout } from './tree-watcher.js';
import type { ZkTlsConfig } from '../zookeeper/tls-config.js';

/**
 * `curator`: `<root>/<service>/<instance>` (Curator ServiceDiscovery, Spring Cloud Zookeeper,
 * Dubbo 3 application-level, plain JSON, host:port; the format is detected per znode).
 * `dubbo`: Dubbo 2 interface-level `<root>/<interface>/providers/<url>`.
 * `auto`: per service, `dubbo` when it has a `providers` (or other Dubbo category) child, else `curator`.
 */
export const ROOT_LAYOUTS = ['auto', 'curator', 'dubbo'] as const;
export type RootLayout = (typeof ROOT_LAYOUTS)[number];

export interface RootConfig {
  readonly path: string;
  readonly layout: RootLayout;
}

export interface EnsembleConfig {
  /** DNS label: tags instances (`ensemble`), and names the ensemble in logs, metrics and status. */
  readonly name: string;
  /** host:port[,host:port...] */
  readonly connect: string;
  readonly chroot?: string;
  readonly sessionTimeoutMs?: number;
  readonly auth?: { readonly file?: string; readonly env?: string };
  /** TLS to the ensemble's secure client port, with a client certificate (mutual TLS). */
  readonly tls?: ZkTlsConfig;
  readonly roots: readonly RootConfig[];
}

export interface SourcesConfig {
  readonly ensembles: readonly EnsembleConfig[];
  readonly naming: NamingOptions;
}

export function treeLayout(layout: RootLayout): TreeLayout {
  return layout === 'curator' ? 'flat' : layout;
}

const ZK_PATH = '^/$|^(/[^/\\s]+)+$';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['ensembles'],
  properties: {
    ensembles: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'connect', 'roots'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
          connect: { type: 'string', pattern: '^[^/\\s,]+(,[^/\\s,]+)*$' },
          chroot: { type: 'string', pattern: '^(/[^/\\s]+)+$' },
          sessionTimeoutMs: { type: 'integer', minimum: 1000, maximum: 600000 },
          auth: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            properties: { file: { type: 'string', minLength: 1 }, env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
          },
          tls: {
            type: 'object',
            additionalProperties: false,
            required: ['caFile', 'certFile', 'keyFile'],
            // The C client takes the three paths as one comma-separated string: no commas in them.
            properties: {
              caFile: { type: 'string', pattern: '^[^,]+$' },
              certFile: { type: 'string', pattern: '^[^,]+$' },
              keyFile: { type: 'string', pattern: '^[^,]+$' },
            },
          },
          roots: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['path'],
              properties: { path: { type: 'string', pattern: ZK_PATH }, layout: { enum: [...ROOT_LAYOUTS] } },
            },
          },
        },
      },
    },
    naming: {
      type: 'object',
      additionalProperties: false,
      properties: { dubboInterface: { type: 'string', minLength: 1 }, dubboApplication: { type: 'string', minLength: 1 } },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true, verbose: true }).compile(SCHEMA);

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'minProperties' || e.keyword === 'maxProperties') return `${where}: must have exactly one of file, env`;
  if (e.keyword === 'pattern') return `${where}: ${JSON.stringify(e.data)} is not valid here (expected ${e.params.pattern})`;
  return `${where}: ${e.message ?? 'invalid'}`;
}

/** Validates parsed sources data; throws one error naming every bad field. */
export function validateSources(data: unknown, origin: string): SourcesConfig {
  if (!validate(data)) {
    const errors = (validate.errors ?? []).map((e) => describeError(e));
    throw new Error(`invalid sources in ${origin}: ${[...new Set(errors)].join('; ')}`);
  }
  const raw = data as { ensembles: EnsembleConfig[]; naming?: Partial<NamingOptions> };
  const names = new Set<string>();
  for (const [i, e] of raw.ensembles.entries()) {
    if (names.has(e.name)) throw new Error(`invalid sources in ${origin}: ensembles.${i}.name: "${e.name}" is used twice`);
    names.add(e.name);
    const paths = new Set<string>();
    for (const [j, r] of e.roots.entries()) {
      if (paths.has(r.path)) throw new Error(`invalid sources in ${origin}: ensembles.${i}.roots.${j}.path: "${r.path}" is listed twice`);
      paths.add(r.path);
    }
  }
  return {
    ensembles: raw.ensembles.map((e) => ({ ...e, roots: e.roots.map((r) => ({ path: r.path, layout: r.layout ?? 'auto' })) })),
    naming: { ...DEFAULT_NAMING, ...raw.naming },
  };
}

/**
 * The single ensemble `default` of the flags: the services root (auto layout) plus `/dubbo`
 * (Dubbo 2 layout), which costs one watch when absent.
 */
export function defaultSources(opts: { zk: string; zkRoot: string; zkAuthFile?: string; zkSessionTimeoutMs?: number }): SourcesConfig {
  const roots: RootConfig[] = [{ path: opts.zkRoot, layout: opts.zkRoot === '/dubbo' ? 'dubbo' : 'auto' }];
  if (opts.zkRoot !== '/dubbo') roots.push({ path: '/dubbo', layout: 'dubbo' });
  return {
    ensembles: [
      {
        name: 'default',
        // The flag has always accepted a chroot inside the connect string; it is kept there.
        connect: opts.zk,
        ...(opts.zkSessionTimeoutMs !== undefined ? { sessionTimeoutMs: opts.zkSessionTimeoutMs } : {}),
        ...(opts.zkAuthFile ? { auth: { file: opts.zkAuthFile } } : {}),
        roots,
      },
    ],
    naming: DEFAULT_NAMING,
  };
}
