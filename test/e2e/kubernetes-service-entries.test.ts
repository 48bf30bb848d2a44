// Two real zk-xds processes with --k8s-service-entries against a real ZooKeeper and the fake API
// server (HTTPS, bearer token, kubeconfig file): registrations become ServiceEntries and follow
// changes; only the elected leader writes; after kill -9 of the leader the other replica takes
// over once the dead leader's session expires, writes nothing twice and loses nothing; a foreign ServiceEntry
// in the namespace is never touched; both replicas serve xDS throughout.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CliProcess, type LogLine } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { kubectl } from '../support/kubectl.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';

const NS = 'mesh';
const SESSION_TIMEOUT_MS = 3000;
/**
 * How long a registration change may take to reach the ServiceEntry here: a deadline for the
 * eventual state, generous because this machine may be loaded (the target, well under a second, is
 * a performance number, not a test bound).
 */
const FOLLOW_MS = 10_000;

let zk: ZooKeeperServer;
let kube: FakeKubeApiServer;
let registrar: ZkTestClient;
let kubeconfig: string;
const running: CliProcess[] = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  kube = await FakeKubeApiServer.start({ tls: true, token: 'e2e-secret-token' });
  kubeconfig = await kube.writeKubeconfig(NS);
  registrar = await ZkTestClient.connect(zk.connectString);
  kube.store.create(
    NS,
    { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'bystander' }, spec: { hosts: ['bystander.example'], resolution: 'DNS' } },
    'kubectl',
  );
});
afterAll(async () => {
  for (const p of running) p.kill();
  await registrar?.close();
  await kube?.stop();
  await zk?.destroy();
});

async function replica(name: string): Promise<{ cli: CliProcess; admin: number }> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(
    [
      'serve',
      '--xds-port',
      String(xds),
      '--admin-port',
      String(admin),
      '--bind-address',
      '127.0.0.1',
      '--zk',
      zk.connectString,
      '--zk-session-timeout-ms',
      String(SESSION_TIMEOUT_MS),
      '--k8s-service-entries',
      '--istio-namespace',
      NS,
    ],
    { KUBECONFIG: kubeconfig, ZKXDS_LEADER_ELECTION_PATH: '/zk-xds/e2e-leader', ZKXDS_ISTIO_REVISION: 'canary', ZKXDS_LOG_LEVEL: 'debug', HOSTNAME: name },
  );
  running.push(cli);
  await cli.waitForLine((l) => l.msg === 'entered the leader election');
  return { cli, admin: admin! };
}

const isLeaderLine = (l: LogLine) => l.msg.startsWith('became the leader');

async function metric(admin: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function endpointsOf(name: string): string[] | undefined {
  try {
    const o = kube.store.get(NS, name) as { spec: { endpoints: { address: string; ports: Record<string, number> }[] } };
    return o.spec.endpoints.map((e) => `${e.address}:${Object.values(e.ports)[0]}`).sort();
  } catch {
    return undefined;
  }
}

describe('ServiceEntries through the Kubernetes API with two replicas', () => {
  it('follows registrations, survives kill -9 of the leader, writes nothing twice and touches no foreign object', async () => {
    await registrar.mkdirp('/services/orders');
    await registrar.create('/services/orders/10.1.0.1:8080', '');
    const a = await replica('replica-a');
    await a.cli.waitForLine(isLeaderLine);
    const b = await replica('replica-b');
    await eventually(() => expect(endpointsOf('orders')).toEqual(['10.1.0.1:8080']), 10000);

    // Changes reach the ServiceEntry within a second.
    await registrar.create('/services/orders/10.1.0.2:8080', '');
    await eventually(() => expect(endpointsOf('orders')).toEqual(['10.1.0.1:8080', '10.1.0.2:8080']), FOLLOW_MS);
    await registrar.mkdirp('/services/payments');
    await registrar.create('/services/payments/10.2.0.1:9090', '');
    await eventually(() => expect(endpointsOf('payments')).toEqual(['10.2.0.1:9090']), FOLLOW_MS);

    // The real kubectl sees them, selects them by our label, and reads them back as written.
    expect(
      (await kubectl(kubeconfig, 'get', 'serviceentries', '-l', 'app.kubernetes.io/managed-by=zk-xds', '-o', 'name')).stdout.trim().split('\n').sort(),
    ).toEqual(['serviceentry.networking.istio.io/orders', 'serviceentry.networking.istio.io/payments']);
    expect(
      (await kubectl(kubeconfig, 'get', 'se', 'payments', '-o', 'jsonpath={.spec.hosts[0]} {.spec.endpoints[0].address} {.metadata.managedFields[0].manager}'))
        .stdout,
    ).toBe('payments 10.2.0.1 zk-xds');
    // The same entry options as the MCP route: the revision label reaches the objects.
    expect((await kubectl(kubeconfig, 'get', 'se', '-l', 'istio.io/rev=canary', '-o', 'name')).stdout.trim().split('\n')).toHaveLength(2);

    // Only A leads and writes; B follows and serves xDS too.
    expect(await metric(a.admin, 'zkxds_leader')).toBe(1);
    expect(await metric(b.admin, 'zkxds_leader')).toBe(0);
    expect((await fetch(`http://127.0.0.1:${b.admin}/readyz`)).status).toBe(200);
    expect(b.cli.lines.some(isLeaderLine)).toBe(false);
    // The admin port's writer page (the status page shows it) says the same.
    const writerPage = async (admin: number) => (await fetch(`http://127.0.0.1:${admin}/debug/writer`)).json();
    expect(await writerPage(a.admin)).toMatchObject({
      enabled: true,
      election: { leader: true, candidateNode: expect.stringMatching(/^\/zk-xds\/e2e-leader\/candidate-/) },
      writer: { active: true, desired: 2, rejected: [] },
    });
    expect(await writerPage(b.admin)).toMatchObject({ enabled: true, election: { leader: false }, writer: { active: false } });
    const writesBefore = kube.writes.length;
    const mutationsBefore = kube.requests.filter((r) => r.method !== 'GET').length;

    // kill -9 the leader; a change made while nobody leads must not be lost.
    const killedAt = performance.now();
    a.cli.kill('SIGKILL');
    await a.cli.exited;
    await registrar.create('/services/orders/10.1.0.3:8080', '');
    // ZooKeeper expires the dead leader's session after the session timeout; then b leads. (The
    // hand-over time is printed below, not bounded: this machine may be loaded.)
    await b.cli.waitForLine(isLeaderLine, SESSION_TIMEOUT_MS * 6);
    const handOverMs = performance.now() - killedAt;
    await eventually(() => expect(endpointsOf('orders')).toEqual(['10.1.0.1:8080', '10.1.0.2:8080', '10.1.0.3:8080']), 5000);

    // B wrote only what changed while nobody led: orders once, payments not at all.
    await new Promise((r) => setTimeout(r, 500));
    const afterHandOver = kube.writes.slice(writesBefore).map((w) => `${w.verb} ${w.name} ${w.manager}`);
    expect(afterHandOver).toEqual(['apply orders zk-xds']);
    expect(
      kube.requests
        .filter((r) => r.method !== 'GET')
        .slice(mutationsBefore)
        .map((r) => `${r.method} ${r.name}`),
    ).toEqual(['PATCH orders']);

    // The new leader follows changes, and deletes the entry of a service that is gone.
    await registrar.remove('/services/payments/10.2.0.1:9090');
    await eventually(() => expect(endpointsOf('payments')).toBeUndefined(), FOLLOW_MS);

    // Every write changed something: no object was written twice with the same content.
    const orders = kube.writesFor('orders').map((w) => w.verb);
    expect(orders).toEqual(['apply', 'apply', 'apply']);
    expect(kube.writesFor('payments').map((w) => w.verb)).toEqual(['apply', 'delete']);
    expect(kube.writesFor('bystander').map((w) => w.verb)).toEqual(['create']);
    expect(kube.store.get(NS, 'bystander')).toMatchObject({ spec: { hosts: ['bystander.example'] } });

    expect(await metric(b.admin, 'zkxds_k8s_service_entries_owned')).toBe(1);

    // A clean stop (SIGTERM) of the leader hands over without waiting for a session timeout.
    const c = await replica('replica-c');
    const writesBeforeStop = kube.writes.length;
    const stoppedAt = performance.now();
    b.cli.kill('SIGTERM');
    await c.cli.waitForLine(isLeaderLine, SESSION_TIMEOUT_MS);
    const cleanHandOverMs = performance.now() - stoppedAt;
    expect((await b.cli.exited).code).toBe(0);
    await registrar.create('/services/orders/10.1.0.4:8080', '');
    await eventually(() => expect(endpointsOf('orders')).toHaveLength(4), FOLLOW_MS);
    expect(kube.writes.slice(writesBeforeStop).map((w) => `${w.verb} ${w.name}`)).toEqual(['apply orders']);

    // The token never reaches a log line.
    for (const p of [a, b, c]) expect(JSON.stringify(p.cli.lines) + p.cli.stderr).not.toContain('e2e-secret-token');
    console.log(
      `leader hand-over: ${Math.round(handOverMs)} ms after kill -9 (session timeout ${SESSION_TIMEOUT_MS} ms), ${Math.round(cleanHandOverMs)} ms after SIGTERM`,
    );
  }, 60000);
});
