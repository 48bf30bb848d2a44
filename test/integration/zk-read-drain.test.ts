// ZooKeeper is read at full speed however busy the event loop is (issue 14). The binding's poll
// callback runs once per turn of the event loop, and the C client's zookeeper_process reads one
// message per call: unpatched, a process that also serves thousands of xDS streams took one turn
// per watch event or read answer and fell seconds behind ZooKeeper under churn. The binding patch
// (patches/, `drain-reads`) reads on while the socket holds more.
//
// Here: watches on N znodes, all changed by a kazoo session in a child process that this one waits
// for synchronously (so this event loop reads nothing meanwhile and the N notifications sit on the
// socket together); then we count the turns of the event loop it takes for them all to reach
// JavaScript. Unpatched: one per turn.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ZkConnection } from '../../src/zookeeper/connection.js';
import { CLOSE_INHERITED_FDS, ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';

const N = 200;
let zk: ZooKeeperServer;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
});
afterAll(async () => {
  await zk?.destroy();
});

it('delivers many buffered watch events in a few turns of the event loop, not one turn each', async () => {
  const writer = await ZkTestClient.connect(zk.connectString);
  const conn = await ZkConnection.open({ connect: zk.connectString, sessionTimeoutMs: 10_000 }, 10_000);
  try {
    await writer.mkdirp('/drain');
    await Promise.all(Array.from({ length: N }, (_, i) => writer.create(`/drain/n${i}`, 'a')));
    let fired = 0;
    let allFired: () => void = () => {};
    const done = new Promise<void>((resolve) => (allFired = resolve));
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        conn.getData(`/drain/n${i}`, () => {
          if (++fired === N) allFired();
        }),
      ),
    );
    const script = [
      'import sys, time',
      'from kazoo.client import KazooClient',
      'zk = KazooClient(hosts=sys.argv[1]); zk.start()',
      `for r in [zk.set_async("/drain/n%d" % i, b"b") for i in range(${N})]: r.get()`,
      'zk.stop()',
    ].join('\n');
    const w = spawnSync('/bin/bash', ['-c', `${CLOSE_INHERITED_FDS}\nexec "$@"`, 'writer', '/usr/bin/python3', '-c', script, zk.connectString], {
      encoding: 'utf8',
    });
    expect(
      w.stderr
        .trim()
        .split('\n')
        .filter((l) => /Error|Traceback/.test(l)),
    ).toEqual([]);
    expect(w.status).toBe(0);
    // Let the last notifications land on the socket (a pause, not a timing assertion).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    let turns = 0;
    let counting = true;
    const tick = () => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    await done;
    counting = false;
    expect(fired).toBe(N);
    // One message per turn would take N turns.
    expect(turns).toBeLessThan(N / 4);
  } finally {
    conn.close();
    await writer.close();
  }
});
