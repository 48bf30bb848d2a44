// The environment a rendered pod would give the CLI, made runnable on this machine (files of its
// volumes written locally, ZooKeeper pointed at nothing): tests start the real CLI with it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { KubeObject } from './kube-tools.js';
import { envOf, only, zkXdsContainer } from './chart-checks.js';
import { makeCa, makeLeaf } from '../support/test-certs.js';

/** Same variables as the pod, except what a test machine needs: free ports, loopback, and a ZooKeeper that is not there (serving starts before the first read). */
export function testMachineEnv(podEnv: ReadonlyMap<string, string>): Record<string, string> {
  // ZKXDS_ZK only where the pod sets it: with a sources file it has none.
  const env: Record<string, string> = { ...Object.fromEntries(podEnv), ZKXDS_XDS_PORT: '0', ZKXDS_ADMIN_PORT: '0', ZKXDS_BIND_ADDRESS: '127.0.0.1' };
  if (podEnv.has('ZKXDS_ZK')) env.ZKXDS_ZK = '127.0.0.1:1';
  return env;
}

/**
 * The pod's environment for a run on this machine: the files the pod gets from its ConfigMap and
 * Secret volumes are written under `dir` (a Secret that is not rendered, an existingSecret, gets
 * a made-up digest for each key the pod names), paths under the mounts point there, and every
 * ZooKeeper connect string (the env's and the sources file's) points at 127.0.0.1:1.
 */
export function podEnvOnThisMachine(objects: readonly KubeObject[], dir: string): Record<string, string> {
  const deployment = only<IDeployment>(objects, 'Deployment');
  const pod = deployment.spec!.template.spec!;
  const mounts = (zkXdsContainer(deployment).volumeMounts ?? []).flatMap((m) => {
    const volume = pod.volumes?.find((v) => v.name === m.name);
    return volume?.configMap || volume?.secret ? [{ mountPath: m.mountPath, local: path.join(dir, m.name), volume }] : [];
  });
  const localPath = (p: string) => {
    const m = mounts.find((x) => p.startsWith(`${x.mountPath}/`));
    return m ? path.join(m.local, p.slice(m.mountPath.length + 1)) : p;
  };
  const env = testMachineEnv(envOf(deployment));
  const wantedSecretFiles: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    env[name] = localPath(value);
    if (name === 'ZKXDS_ZK_AUTH_FILE') wantedSecretFiles.push(env[name]!);
  }
  for (const { local, volume } of mounts) {
    mkdirSync(local, { recursive: true });
    if (volume.configMap) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap!.name) as { data?: Record<string, string> } | undefined;
      for (const [key, text] of Object.entries(cm?.data ?? {})) {
        let content = text;
        if (key === 'sources.yaml') {
          const sources = parse(text) as { ensembles: Array<{ connect: string; auth?: { file?: string } }> };
          for (const e of sources.ensembles) {
            e.connect = '127.0.0.1:1';
            if (e.auth?.file) wantedSecretFiles.push((e.auth.file = localPath(e.auth.file)));
          }
          content = stringify(sources);
        }
        writeFileSync(path.join(local, key), content);
      }
    } else {
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === volume.secret!.secretName) as { data?: Record<string, string> } | undefined;
      for (const [key, b64] of Object.entries(secret?.data ?? {})) writeFileSync(path.join(local, key), Buffer.from(b64, 'base64'));
    }
  }
  for (const file of wantedSecretFiles) if (!existsSync(file)) writeFileSync(file, 'zkxds-test:not-a-real-password');
  writeTlsFiles(env);
  return env;
}

/** Real certificate files where the pod's xDS TLS variables point and no rendered Secret put any (an existing Secret, cert-manager's). */
function writeTlsFiles(env: Record<string, string>): void {
  const wanted = { ZKXDS_XDS_TLS_CERT_FILE: 'server.pem', ZKXDS_XDS_TLS_KEY_FILE: 'server.key', ZKXDS_XDS_TLS_CLIENT_CA_FILE: 'ca.pem' } as const;
  const missing = Object.entries(wanted).filter(([name]) => env[name] && !existsSync(env[name]!));
  if (missing.length === 0) return;
  const certs = mkdtempSync(path.join(os.tmpdir(), 'zkxds-pod-tls-'));
  try {
    makeCa(certs, 'ca');
    makeLeaf(certs, 'server', 'ca');
    for (const [name, file] of missing) {
      mkdirSync(path.dirname(env[name]!), { recursive: true });
      copyFileSync(path.join(certs, file), env[name]!);
    }
  } finally {
    rmSync(certs, { recursive: true, force: true });
  }
}
