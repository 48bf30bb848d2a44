// Validates Kubernetes objects offline against the OpenAPI schemas that kubernetes-models,
// @kubernetes-models/istio and @kubernetes-models/prometheus-operator compile into validators.
// They catch wrong types, enums and missing required fields (not unknown fields: the semantic
// checks in the tests cover what matters there). An apiVersion/kind that no package knows is an
// error, never a silent pass.
import type { KubeObject } from './kube-tools.js';

interface Model {
  validate(): void;
}
type ModelClass = new (data: object) => Model;

/** Which package holds the models of an API group (the core group is ""). */
function packageOf(group: string): string {
  if (group.endsWith('.istio.io')) return '@kubernetes-models/istio';
  if (group === 'monitoring.coreos.com') return '@kubernetes-models/prometheus-operator';
  if (group === 'cert-manager.io') return '@kubernetes-models/cert-manager';
  return 'kubernetes-models';
}

async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | string> {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const specifier = `${packageOf(group)}/${apiVersion}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    return `no schema known for ${apiVersion} ${kind} (${specifier}: ${(err as Error).message.split('\n')[0]})`;
  }
  return typeof mod[kind] === 'function' ? (mod[kind] as ModelClass) : `no schema known for ${apiVersion} ${kind} (${specifier} has no ${kind})`;
}

/** The schema violations of one object, as readable lines; empty when it is valid. */
export async function schemaErrors(obj: KubeObject): Promise<string[]> {
  const where = `${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'}`;
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return [`${where}: apiVersion and kind are required`];
  const Model = await modelClass(obj.apiVersion, obj.kind);
  if (typeof Model === 'string') return [`${where}: ${Model}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}

/** All violations of a list of objects. One at a time: Jest's ESM loader fails when two
 * dynamic imports link the same modules at once. */
export async function allSchemaErrors(objects: readonly KubeObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) errors.push(...(await schemaErrors(o)));
  return errors;
}
