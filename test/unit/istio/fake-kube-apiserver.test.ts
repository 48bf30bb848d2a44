// The fake API server keeps the real rules (so the writer's tests mean something), checked over
// real HTTP(S) with plain requests and with the real kubectl.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FakeKubeApiServer } from '../../support/fake-kube-apiserver.js';
import { kubectl as runKubectl } from '../../support/kubectl.js';
const BASE = '/apis/networking.istio.io/v1/namespaces/mesh/serviceentries';

function entry(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: 'mesh', labels },
    spec: {
      hosts: [`${name}.example`],
      resolution: 'STATIC',
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      endpoints: [{ address: '10.0.0.1' }],
      ...extra,
    },
  };
}

async function call(server: FakeKubeApiServer, method: string, p: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(server.url + p, { method, headers: { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('fake kube-apiserver rules', () => {
  let server: FakeKubeApiServer;
  beforeEach(async () => {
    server = await FakeKubeApiServer.start({ bookmarkIntervalMs: 50 });
  });
  afterEach(() => server.stop());

  test('create, conflicting create, update with a stale resourceVersion is 409, delete with a stale precondition is 409', async () => {
    const created = await call(server, 'POST', BASE, entry('a'));
    expect(created.status).toBe(201);
    expect((await call(server, 'POST', BASE, entry('a'))).body.reason).toBe('AlreadyExists');
    const rv = created.body.metadata.resourceVersion as string;
    const updated = await call(server, 'PUT', `${BASE}/a`, { ...entry('a', { hosts: ['b.example'] }), metadata: { name: 'a', resourceVersion: rv } });
    expect(updated.status).toBe(200);
    expect(updated.body.metadata.resourceVersion).not.toBe(rv);
    const stale = await call(server, 'PUT', `${BASE}/a`, { ...entry('a'), metadata: { name: 'a', resourceVersion: rv } });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toContain('the object has been modified');
    expect((await call(server, 'DELETE', `${BASE}/a`, { preconditions: { resourceVersion: rv } })).status).toBe(409);
    expect((await call(server, 'DELETE', `${BASE}/a`, { preconditions: { resourceVersion: updated.body.metadata.resourceVersion } })).status).toBe(200);
    expect((await call(server, 'GET', `${BASE}/a`)).status).toBe(404);
    expect(server.writesFor('a').map((w) => w.verb)).toEqual(['create', 'update', 'delete']);
  });

  test('422 for objects the Istio schema or the metadata rules reject, nothing stored', async () => {
    const badEnum = await call(server, 'POST', BASE, entry('a', { resolution: 'SOMETIMES' }));
    expect(badEnum.status).toBe(422);
    expect(badEnum.body.details.causes[0].field).toBe('spec.resolution');
    expect((await call(server, 'POST', BASE, entry('Upper_Case'))).status).toBe(422);
    expect((await call(server, 'POST', BASE, entry('a', {}, { 'zk-xds.io/service': 'x'.repeat(64) }))).status).toBe(422);
    expect(server.writes).toHaveLength(0);
  });

  test('server-side apply: managers own fields, a conflicting apply is 409 unless forced, identical applies write nothing', async () => {
    const apply = (body: unknown, manager: string, force = false) =>
      call(server, 'PATCH', `${BASE}/a?fieldManager=${manager}${force ? '&force=true' : ''}`, body, 'application/apply-patch+yaml');
    expect((await apply(entry('a'), 'zk-xds')).status).toBe(200);
    expect((await apply(entry('a'), 'zk-xds')).status).toBe(200);
    expect(server.writesFor('a')).toHaveLength(1);
    // Same value from another manager: shared ownership, no conflict.
    const shared = await apply({ ...entry('a'), spec: { hosts: ['a.example'] } }, 'other');
    expect(shared.status).toBe(200);
    expect(shared.body.metadata.managedFields.map((m: { manager: string }) => m.manager).sort()).toEqual(['other', 'zk-xds']);
    const conflict = await apply({ ...entry('a'), spec: { hosts: ['z.example'] } }, 'other');
    expect(conflict.status).toBe(409);
    expect(conflict.body.details.causes[0]).toEqual({ reason: 'FieldManagerConflict', message: 'conflict with "zk-xds"', field: '.spec.hosts' });
    const forced = await apply({ ...entry('a'), spec: { hosts: ['z.example'] } }, 'other', true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec.hosts).toEqual(['z.example']);
    // A field zk-xds stops applying is removed (nobody else owns it).
    const dropped = await apply(
      { ...entry('a'), spec: { hosts: ['a.example'], resolution: 'STATIC', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] } },
      'zk-xds',
      true,
    );
    expect(dropped.body.spec.endpoints).toBeUndefined();
    expect(dropped.body.spec.hosts).toEqual(['a.example']);
    expect((await apply({ ...entry('a', { resolution: 'MAYBE' }) }, 'zk-xds', true)).status).toBe(422);
    expect((await apply(entry('a'), '')).status).toBe(400);
  });

  test('list by label selector; watch with bookmarks from a version; 410 once that version is compacted', async () => {
    await call(server, 'POST', BASE, entry('mine', {}, { 'app.kubernetes.io/managed-by': 'zk-xds' }));
    await call(server, 'POST', BASE, entry('theirs'));
    const list = await call(server, 'GET', `${BASE}?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=zk-xds')}`);
    expect(list.body.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['mine']);
    const listRv = list.body.metadata.resourceVersion as string;

    const events: { type: string; object: { metadata: { name?: string; resourceVersion: string } } }[] = [];
    const controller = new AbortController();
    const res = await fetch(`${server.url}${BASE}?watch=true&allowWatchBookmarks=true&resourceVersion=${listRv}`, { signal: controller.signal });
    const reader = (async () => {
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
        }
      } catch {
        /* aborted */
      }
    })();
    await call(server, 'POST', BASE, entry('later'));
    await call(server, 'DELETE', `${BASE}/theirs`);
    const deadline = Date.now() + 5000;
    while (!(events.some((e) => e.type === 'BOOKMARK') && events.some((e) => e.type === 'DELETED')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await reader;
    expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED later', 'DELETED theirs']);
    expect(events.some((e) => e.type === 'BOOKMARK')).toBe(true);

    server.store.compact();
    const gone = await fetch(`${server.url}${BASE}?watch=true&resourceVersion=${listRv}`);
    const goneEvent = JSON.parse((await gone.text()).trim());
    expect(goneEvent.type).toBe('ERROR');
    expect(goneEvent.object.code).toBe(410);
  });
});

describe('fake kube-apiserver against the real kubectl', () => {
  let server: FakeKubeApiServer;
  let kubeconfig: string;
  const kubectl = (...args: string[]) => runKubectl(kubeconfig, ...args);
  beforeAll(async () => {
    server = await FakeKubeApiServer.start({ tls: true, token: 'not-a-real-token' });
    kubeconfig = await server.writeKubeconfig('mesh');
  });
  afterAll(() => server.stop());

  test('kubectl apply --server-side, get, conflict, force, delete (over HTTPS with a bearer token)', async () => {
    const file = path.join(path.dirname(kubeconfig), 'se.json');
    await writeFile(file, JSON.stringify(entry('by-kubectl')));
    const applied = await kubectl('apply', '--server-side', '--validate=false', '-f', file);
    expect(applied.stdout).toContain('serviceentry.networking.istio.io/by-kubectl serverside-applied');
    expect(server.writesFor('by-kubectl')).toEqual([expect.objectContaining({ verb: 'apply', manager: 'kubectl' })]);

    const got = JSON.parse((await kubectl('get', 'serviceentries', '-o', 'json')).stdout);
    expect(got.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['by-kubectl']);
    expect((await kubectl('get', 'se', 'by-kubectl', '-o', 'jsonpath={.spec.hosts[0]}')).stdout).toBe('by-kubectl.example');

    // Another manager changing kubectl's field conflicts; --force-conflicts takes it over.
    await writeFile(file, JSON.stringify(entry('by-kubectl', { hosts: ['other.example'] })));
    await expect(kubectl('apply', '--server-side', '--validate=false', '--field-manager', 'someone-else', '-f', file)).rejects.toThrow(
      /conflict with "kubectl"/,
    );
    await kubectl('apply', '--server-side', '--validate=false', '--field-manager', 'someone-else', '--force-conflicts', '-f', file);
    expect((await kubectl('get', 'se', 'by-kubectl', '-o', 'jsonpath={.spec.hosts[0]}')).stdout).toBe('other.example');

    await writeFile(file, JSON.stringify(entry('bad', { resolution: 'SOMETIMES' })));
    await expect(kubectl('apply', '--server-side', '--validate=false', '-f', file)).rejects.toThrow(/is invalid/);

    const deleted = await kubectl('delete', 'serviceentry', 'by-kubectl');
    expect(deleted.stdout).toContain('deleted');
    expect((await kubectl('get', 'serviceentries', '-o', 'json').then((r) => JSON.parse(r.stdout))).items).toEqual([]);
  });
});
