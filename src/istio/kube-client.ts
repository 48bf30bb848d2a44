// The Kubernetes API calls the ServiceEntry writer makes, typed, over @kubernetes/client-node:
// load the configuration (kubeconfig or in-cluster), server-side apply, delete with a
// precondition, and a list-then-watch cache of the namespace's ServiceEntries.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';

export const SE_GROUP = 'networking.istio.io';
export const SE_VERSION = 'v1';
export const SE_PLURAL = 'serviceentries';

/** What the writer reads of a stored ServiceEntry. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
}

/** Where a pod finds its service account (Kubernetes mounts it there). */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The API server configuration: the kubeconfig file(s) given (a KUBECONFIG-style list works), else
 * the pod's service account when running in a cluster, else ~/.kube/config. `serviceAccountRoot`
 * moves the service account files (tests point it at a temp dir).
 */
export function loadKubeConfig(kubeconfig: string | undefined, serviceAccountRoot = ''): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const files = (kubeconfig ?? '').split(path.delimiter).filter(Boolean);
  if (files.length > 0) {
    loadFile(kc, files[0]!);
    for (const file of files.slice(1)) {
      const more = new k8s.KubeConfig();
      loadFile(more, file);
      kc.mergeConfig(more);
    }
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountRoot + SERVICE_ACCOUNT_TOKEN)) {
    // The token file is re-read as it rotates (client-node's tokenFile provider).
    kc.loadFromCluster(serviceAccountRoot);
  } else {
    kc.loadFromDefault();
  }
  return kc;
}

function loadFile(kc: k8s.KubeConfig, file: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    // The message names the file only: a parse error must not echo the file's content (tokens).
    throw new Error(`cannot load the kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? 'invalid file'}`);
  }
}

/** An error answer of the API server: its HTTP code (0 when no answer came) and message. */
export interface KubeFailure {
  readonly code: number;
  readonly message: string;
  /** Seconds the server asked to wait (429), when it said. */
  readonly retryAfterSeconds?: number;
}

export function describeFailure(err: unknown): KubeFailure {
  if (err instanceof k8s.ApiException) {
    const body = parseBody(err.body);
    const retry = Number(err.headers?.['retry-after']);
    return { code: err.code, message: body?.message ?? String(err.message).split('\n')[0]!, retryAfterSeconds: Number.isFinite(retry) ? retry : undefined };
  }
  // Network failures: undici's "fetch failed" says why only in its cause (ECONNREFUSED, a TLS error...).
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 0, message: cause ? `${message}: ${cause.code ?? cause.message ?? 'unknown cause'}` : message };
}

function parseBody(body: unknown): { message?: string } | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { message?: string };
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  return typeof body === 'object' && body !== null ? (body as { message?: string }) : undefined;
}

export class ServiceEntryClient {
  private readonly api: k8s.CustomObjectsApi;

  constructor(
    readonly kubeConfig: k8s.KubeConfig,
    readonly namespace: string,
    private readonly fieldManager: string,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  /** The API server's address (never the credentials), for logs. */
  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? '(none)';
  }

  /** Server-side apply as our field manager, forcing: zk-xds is the authority on the fields it sets. */
  async apply(object: StoredObject & { metadata: { name: string } }): Promise<StoredObject> {
    return (await this.api.patchNamespacedCustomObject(
      {
        group: SE_GROUP,
        version: SE_VERSION,
        namespace: this.namespace,
        plural: SE_PLURAL,
        name: object.metadata.name,
        body: object,
        fieldManager: this.fieldManager,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    )) as StoredObject;
  }

  /** Deletes `name` only if it is still at `resourceVersion` (409 otherwise). */
  async delete(name: string, resourceVersion: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({
      group: SE_GROUP,
      version: SE_VERSION,
      namespace: this.namespace,
      plural: SE_PLURAL,
      name,
      body: { preconditions: { resourceVersion } },
    });
  }

  /** A list-then-watch cache of every ServiceEntry in the namespace (relists after 410 Gone). */
  informer(): k8s.Informer<StoredObject & k8s.KubernetesObject> & k8s.ObjectCache<StoredObject & k8s.KubernetesObject> {
    const listFn = async () =>
      (await this.api.listNamespacedCustomObject({
        group: SE_GROUP,
        version: SE_VERSION,
        namespace: this.namespace,
        plural: SE_PLURAL,
      })) as k8s.KubernetesListObject<StoredObject & k8s.KubernetesObject>;
    return k8s.makeInformer(this.kubeConfig, `/apis/${SE_GROUP}/${SE_VERSION}/namespaces/${this.namespace}/${SE_PLURAL}`, listFn);
  }
}
