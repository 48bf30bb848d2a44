// Leader election against a real ZooKeeper server: one leader at a time, hand-over on a clean stop,
// on session expiry and after a lost connection; followers watch only their predecessor; a
// candidate whose own node is deleted by another client steps down and enters again.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { pino, type Logger } from 'pino';
import { LeaderElection } from '../../src/istio/leader-election.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ZkDigestCredentials } from '../../src/zookeeper/credentials.js';
import { ZK_ERRORS, ZkTestClient } from '../support/zk-test-client.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { expireSession } from '../support/expire-registry-session.js';
import { eventually } from '../support/eventually.js';

let zk: ZooKeeperServer;
let pathCounter = 0;
const started: LeaderElection[] = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
});
afterAll(async () => {
  await zk?.destroy();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

interface Candidate {
  election: LeaderElection;
  events: string[];
  gauge: number;
}

/** Every candidate's transitions, in one shared order, to check that two never lead at once. */
let timeline: string[] = [];

function candidate(name: string, path: string, sessionTimeoutMs = 2000, log: Logger = silentLogger(), auth?: ZkDigestCredentials): Candidate {
  const c: Candidate = { events: [], gauge: -1 } as unknown as Candidate;
  c.election = new LeaderElection(
    { zk: { connect: zk.connectString, sessionTimeoutMs, auth }, path, identity: name },
    {
      onElected: () => {
        c.events.push('elected');
        timeline.push(`+${name}`);
      },
      onRevoked: (reason) => {
        c.events.push(`revoked: ${reason}`);
        timeline.push(`-${name}`);
      },
    },
    log,
    { set: (v) => (c.gauge = v) },
  );
  started.push(c.election);
  c.election.start();
  return c;
}

/** `a` elected on `path`, then `b` queued behind it (its candidate node created). */
async function leaderAndFollower(path: string, a: Candidate, bOpts: { auth?: ZkDigestCredentials } = {}): Promise<{ a: Candidate; b: Candidate }> {
  await eventually(() => expect(a.election.isLeader).toBe(true));
  const b = candidate('b', path, 2000, silentLogger(), bOpts.auth);
  await eventually(() => expect(b.election.candidateNode).toBeDefined());
  return { a, b };
}

/** Walks the shared timeline (from entry `from` on): at no point may two candidates lead together. */
function maxConcurrentLeaders(from = 0): number {
  const leading = new Set<string>();
  let max = 0;
  timeline.forEach((t, i) => {
    if (t.startsWith('+')) leading.add(t.slice(1));
    else leading.delete(t.slice(1));
    if (i >= from) max = Math.max(max, leading.size);
  });
  return max;
}

/** A logger whose JSON lines the test can read. */
function recordingLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return {
    log: pino({ level: 'info' }, sink),
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Deletes a node the way any client could while the election's znodes are world-writable. */
async function deleteAsAnonymous(path: string): Promise<void> {
  const anonymous = await ZkTestClient.connect(zk.connectString);
  try {
    await anonymous.remove(path);
  } finally {
    await anonymous.close();
  }
}

const newPath = () => `/zk-xds/leader-test-${++pathCounter}`;

describe('leader election', () => {
  it('elects the first candidate; a clean stop hands over at once to the next', async () => {
    timeline = [];
    const path = newPath();
    const a = candidate('a', path);
    await eventually(() => expect(a.election.isLeader).toBe(true));
    const b = candidate('b', path);
    const c = candidate('c', path);
    await eventually(() => expect(c.election.candidateNode).toBeDefined());
    await new Promise((r) => setTimeout(r, 200));
    expect([a.gauge, b.gauge, c.gauge]).toEqual([1, 0, 0]);

    // Stopping a follower changes nothing for the leader (b's successor c re-targets to a).
    await b.election.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(a.election.isLeader).toBe(true);
    expect(c.election.isLeader).toBe(false);

    await a.election.stop();
    await eventually(() => expect(c.election.isLeader).toBe(true), 1000);
    expect(a.events).toEqual(['elected', 'revoked: shutting down']);
    expect(b.events).toEqual([]);
    expect(maxConcurrentLeaders()).toBe(1);
  });

  it('when the leader session expires the other takes over, and the old leader rejoins as a follower', async () => {
    timeline = [];
    const path = newPath();
    const { a, b } = await leaderAndFollower(path, candidate('a', path));
    const oldNode = a.election.candidateNode;
    expireSession(a.election.connection()!);
    await eventually(() => expect(b.election.isLeader).toBe(true), 5000);
    // The session moving to another connection shows first as a lost connection: a steps down then.
    expect(a.events).toEqual(['elected', expect.stringMatching(/^revoked: (lost the ZooKeeper connection|ZooKeeper session expired)$/)]);
    await eventually(() => expect(a.election.candidateNode).not.toEqual(oldNode));
    await eventually(() => expect(a.election.candidateNode).toBeDefined());
    expect(a.election.isLeader).toBe(false);
    expect(maxConcurrentLeaders()).toBe(1);
  });

  it('steps down as soon as the connection is lost, and leads again after the reconnect', async () => {
    timeline = [];
    const path = newPath();
    const a = candidate('a', path, 6000);
    await eventually(() => expect(a.election.isLeader).toBe(true));
    await zk.freeze();
    try {
      // The client notices a silent server after about 2/3 of the session timeout.
      await eventually(() => expect(a.election.isLeader).toBe(false), 8000);
      expect(a.gauge).toBe(0);
    } finally {
      await zk.thaw();
    }
    await eventually(() => expect(a.election.isLeader).toBe(true), 8000);
    expect(a.events).toEqual(['elected', 'revoked: lost the ZooKeeper connection', 'elected']);
  }, 30000);

  it('keeps trying to enter while ZooKeeper is down, and leads once it is back', async () => {
    timeline = [];
    await zk.stop();
    const a = candidate('a', newPath(), 1000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.election.isLeader).toBe(false);
    expect(a.election.candidateNode).toBeUndefined();
    await zk.restart();
    await eventually(() => expect(a.election.isLeader).toBe(true), 10000);
    expect(a.gauge).toBe(1);
  }, 30000);

  it('a leader whose candidate node is deleted by another client steps down at once and enters again as a follower', async () => {
    timeline = [];
    const path = newPath();
    const aLog = recordingLogger();
    const { a, b } = await leaderAndFollower(path, candidate('a', path, 4000, aLog.log));
    const deleted = a.election.candidateNode!;

    await deleteAsAnonymous(deleted);

    // b's predecessor watch hands it the lead; a sees its own node go (its exists watch) and stops
    // leading, which tells its writer at once. Without that watch a keeps leading: [true, true].
    await eventually(() => expect(b.election.isLeader).toBe(true));
    await eventually(() => expect([a.election.isLeader, b.election.isLeader]).toEqual([false, true]));
    expect(a.events).toContain('revoked: candidate node deleted');
    const seen = timeline.indexOf('-a');
    expect(seen).toBeGreaterThanOrEqual(0);
    // a entered again with a new candidate node, behind b.
    await eventually(() => {
      expect(a.election.candidateNode).toBeDefined();
      expect(a.election.candidateNode).not.toEqual(deleted);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect([a.election.isLeader, b.election.isLeader]).toEqual([false, true]);
    expect([a.gauge, b.gauge]).toEqual([0, 1]);
    expect(a.events).toEqual(['elected', 'revoked: candidate node deleted']);
    // From the moment a saw the deletion, never two leaders (before it, one: a).
    expect(maxConcurrentLeaders(seen)).toBe(1);
    expect(aLog.lines()).toContainEqual(expect.objectContaining({ level: 40, path: deleted, msg: expect.stringContaining('deleted') }));
  }, 30000);

  it('a lone leader whose candidate node is deleted steps down, and leads again only through a new node', async () => {
    timeline = [];
    const path = newPath();
    const a = candidate('a', path);
    await eventually(() => expect(a.election.isLeader).toBe(true));
    const deleted = a.election.candidateNode!;

    await deleteAsAnonymous(deleted);

    // Nobody else is queued, so a leads again, but only after stepping down and entering anew.
    await eventually(() => expect(a.events).toEqual(['elected', 'revoked: candidate node deleted', 'elected']));
    expect(a.election.isLeader).toBe(true);
    expect(a.election.candidateNode).toBeDefined();
    expect(a.election.candidateNode).not.toEqual(deleted);
    expect(await childrenOf(path)).toEqual([a.election.candidateNode!.slice(path.length + 1)]);
    expect(timeline).toEqual(['+a', '-a', '+a']);
    expect(a.gauge).toBe(1);
  }, 30000);

  it('a follower whose candidate node is deleted enters again at once; the leader stays', async () => {
    timeline = [];
    const path = newPath();
    const { a, b } = await leaderAndFollower(path, candidate('a', path));
    const deleted = b.election.candidateNode!;

    await deleteAsAnonymous(deleted);

    await eventually(() => expect(b.election.candidateNode).toBeDefined());
    await eventually(() => expect(b.election.candidateNode).not.toEqual(deleted));
    expect(await childrenOf(path)).toContain(b.election.candidateNode!.slice(path.length + 1));
    // The leader's node going now hands over to b's new node.
    await a.election.stop();
    await eventually(() => expect(b.election.isLeader).toBe(true));
    expect(maxConcurrentLeaders()).toBe(1);
  }, 30000);
});

describe('leader election with digest credentials', () => {
  it('creates the election path and its candidates creator-only: an anonymous client cannot delete or add one; a replica with the credentials joins', async () => {
    timeline = [];
    const parent = newPath();
    const path = `${parent}/leader`;
    const auth = new ZkDigestCredentials('replica:s3cret', 'test');
    const { a, b } = await leaderAndFollower(path, candidate('a', path, 2000, silentLogger(), auth), { auth });
    const leaderNode = a.election.candidateNode!;

    // ZooKeeper stores the creator's digest id: user:base64(sha1(user:password)).
    const creatorOnly = [{ perms: 31, scheme: 'digest', auth: `replica:${createHash('sha1').update('replica:s3cret').digest('base64')}` }];
    const operator = await ZkTestClient.connect(zk.connectString);
    try {
      await operator.addDigestAuth('replica:s3cret');
      expect(await operator.acl(path)).toEqual(creatorOnly);
      expect(await operator.acl(leaderNode)).toEqual(creatorOnly);
      expect(await operator.acl(b.election.candidateNode!)).toEqual(creatorOnly);
      // The missing parent was created open: it may be shared with nodes other clients write.
      expect(await operator.acl(parent)).toEqual([{ perms: 31, scheme: 'world', auth: 'anyone' }]);
    } finally {
      await operator.close();
    }
    const anonymous = await ZkTestClient.connect(zk.connectString);
    try {
      // Refused, not a crash (the binding freed a NULL ACL vector on this error before the patch).
      await expect(anonymous.acl(leaderNode)).rejects.toMatchObject({ code: ZK_ERRORS.NOAUTH });
      await expect(anonymous.remove(leaderNode)).rejects.toMatchObject({ code: ZK_ERRORS.NOAUTH });
      await expect(anonymous.create(`${path}/candidate-`, 'x', { ephemeral: true, sequential: true })).rejects.toMatchObject({ code: ZK_ERRORS.NOAUTH });
    } finally {
      await anonymous.close();
    }
    expect([a.election.isLeader, b.election.isLeader]).toEqual([true, false]);
    await a.election.stop();
    await eventually(() => expect(b.election.isLeader).toBe(true));
    expect(maxConcurrentLeaders()).toBe(1);
  }, 30000);
});

async function childrenOf(path: string): Promise<string[]> {
  const client = await ZkTestClient.connect(zk.connectString);
  try {
    return await client.children(path);
  } finally {
    await client.close();
  }
}
