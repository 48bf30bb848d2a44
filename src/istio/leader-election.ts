// Leader election through ZooKeeper, so that of several zk-xds replicas only one writes to the
// Kubernetes API (every replica keeps serving xDS). Each candidate creates an ephemeral sequential
// node under the election path; the lowest sequence number leads. Every other candidate watches
// only its predecessor (no herd when a node goes), so when the leader's node disappears (clean
// shutdown: at once; crash: when its session expires) the next one takes over.
//
// Safety over liveness: a candidate steps down the moment its connection is lost, before the
// session may have expired on the server and someone else has taken over; it only leads again after
// the reconnect has confirmed its node is still the lowest.
//
// Every candidate also watches its own node: if another client deletes it (an operator, or anyone
// when the znodes are open), the next candidate takes over at once, so a leader that kept leading
// would write alongside it. It steps down the moment the watch fires and enters again with a new
// node. With digest credentials the znodes are creator-only, so only replicas holding them can
// delete one. (A window between the deletion and that watch firing remains: ZooKeeper orders
// events per session, not across sessions.)
import os from 'node:os';
import type { Logger } from '../observability/logger.js';
import { ZK_EPHEMERAL_SEQUENTIAL, type ZkConnection, type ZkConnectionOptions, type ZkCreateAcl } from '../zookeeper/connection.js';
import { runSessions } from '../zookeeper/session-loop.js';
import { setTimeout as timer } from 'node:timers/promises';

export interface LeaderElectionOptions {
  /** The session to elect over: the registry's primary ensemble (with its chroot and credentials). */
  readonly zk: ZkConnectionOptions;
  /** Parent znode of the candidates, e.g. /zk-xds/leader. */
  readonly path: string;
  /** Stored in the candidate node, for operators reading the election in zkCli. */
  readonly identity?: string;
}

export interface LeadershipListener {
  onElected(): void;
  onRevoked(reason: string): void;
}

/** The `zkxds_leader` gauge, or anything shaped like it. */
export interface LeaderGauge {
  set(value: number): void;
}

const CANDIDATE_PREFIX = 'candidate-';
const STOP_DELETE_WAIT_MS = 1000;

// Unref'd: a pending retry or stop wait never keeps the process alive on its own.
const sleep = (ms: number): Promise<void> => timer(ms, undefined, { ref: false });

export class LeaderElection {
  private conn: ZkConnection | undefined;
  private node: string | undefined;
  /** The candidate node whose deletion is watched (one watch per node, armed before it may lead). */
  private watchedNode: string | undefined;
  /** The node already reported deleted, so the watch and the next check log it once. */
  private lostNode: string | undefined;
  private leader = false;
  private stopped = false;
  private checking = false;
  private recheck = false;
  private running: Promise<void> | undefined;
  readonly identity: string;

  constructor(
    private readonly options: LeaderElectionOptions,
    private readonly listener: LeadershipListener,
    private readonly log: Logger,
    private readonly gauge: LeaderGauge,
  ) {
    this.identity = options.identity ?? `${os.hostname()}:${process.pid}`;
    gauge.set(0);
  }

  /**
   * With digest credentials on the session, the election path (when this creates it) and every
   * candidate are creator-only: only sessions with the same credentials can delete a candidate or
   * join. Missing parents stay open (see ZkConnection.ensurePath). Without credentials there is no
   * identity to restrict them to.
   */
  private get acl(): ZkCreateAcl {
    return this.options.zk.auth ? 'creator-only' : 'open';
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** The candidate node of this replica (for tests and the admin port), if it has one. */
  get candidateNode(): string | undefined {
    return this.node;
  }

  /** The current session, if any (tests make ZooKeeper expire it). */
  connection(): ZkConnection | undefined {
    return this.conn;
  }

  start(): void {
    this.running ??= this.joinLoop();
  }

  /** Steps down and removes this candidate at once, so the next one takes over without waiting for a session timeout. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stepDown('shutting down');
    const conn = this.conn;
    // Bounded: with ZooKeeper unreachable the delete would wait for a reconnect; the session's
    // expiry removes the node then anyway.
    if (conn && !conn.isDead && this.node) await Promise.race([conn.delete(this.node).catch(() => undefined), sleep(STOP_DELETE_WAIT_MS)]);
    // The binding must be closed outside its own callbacks.
    await new Promise((r) => setImmediate(r));
    conn?.close();
    await this.running;
  }

  /** Opens a session and enters the election; again after every session expiry. */
  private async joinLoop(): Promise<void> {
    await runSessions(this.options.zk, {
      stopped: () => this.stopped,
      use: async (conn) => {
        try {
          await this.join(conn);
          return true;
        } catch (err) {
          this.conn = undefined;
          throw err;
        }
      },
      onFailure: (err, retryInMs) => this.log.warn({ err: err.message, retryInMs }, 'could not enter the leader election; retrying'),
    });
  }

  private async join(conn: ZkConnection): Promise<void> {
    this.conn = conn;
    conn.on('disconnected', () => this.stepDown('lost the ZooKeeper connection'));
    conn.on('connected', () => void this.check());
    conn.once('expired', () => {
      if (this.conn !== conn) return;
      this.stepDown('ZooKeeper session expired');
      const entered = this.node !== undefined;
      this.conn = undefined;
      this.node = undefined;
      // Before the candidate node exists, join() fails on the dead session and its loop retries.
      if (entered && !this.stopped) this.running = this.joinLoop();
    });
    await conn.ensurePath(this.options.path, this.acl);
    this.node = await conn.create(`${this.options.path}/${CANDIDATE_PREFIX}`, Buffer.from(this.identity), ZK_EPHEMERAL_SEQUENTIAL, this.acl);
    this.log.info({ node: this.node, identity: this.identity }, 'entered the leader election');
    await this.check();
  }

  /** Leads if this candidate is the lowest, else watches the one just before it. Serialised. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.recheck = false;
        await this.checkOnce();
      } while (this.recheck && !this.stopped);
    } catch (err) {
      // The connection went away mid-check: 'connected' or 'expired' will bring us back here.
      this.log.warn({ err: (err as Error).message }, 'leader election check failed; waiting for the session');
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    const conn = this.conn;
    const node = this.node;
    if (!conn || !node || conn.isDead || !conn.connected || this.stopped) return;
    // Before this node may lead, its deletion must reach us (see the header).
    if (this.watchedNode !== node) {
      await conn.exists(node, (kind) => {
        if (kind === 'deleted') this.ownNodeDeleted(conn, node);
      });
      this.watchedNode = node;
    }
    const children = await conn.getChildren(this.options.path, () => undefined);
    const candidates = (children ?? []).filter((c) => c.startsWith(CANDIDATE_PREFIX)).sort(bySequence);
    const mine = node.slice(node.lastIndexOf('/') + 1);
    const index = candidates.indexOf(mine);
    if (index < 0) {
      // Our node is gone although the session lives (deleted by another client): enter again.
      this.candidateLost(node);
      this.node = await conn.create(`${this.options.path}/${CANDIDATE_PREFIX}`, Buffer.from(this.identity), ZK_EPHEMERAL_SEQUENTIAL, this.acl);
      this.log.info({ node: this.node, identity: this.identity }, 'entered the leader election again');
      this.recheck = true;
      return;
    }
    if (index === 0) {
      this.becomeLeader();
      return;
    }
    this.stepDown('another candidate leads');
    const predecessor = `${this.options.path}/${candidates[index - 1]}`;
    const exists = await conn.exists(predecessor, (kind) => {
      if (kind === 'deleted') void this.check();
    });
    if (!exists) this.recheck = true;
  }

  /** The own-node watch fired: stop leading before anything else, then enter again through a check. */
  private ownNodeDeleted(conn: ZkConnection, node: string): void {
    if (this.conn !== conn || this.node !== node || this.stopped) return;
    this.candidateLost(node);
    void this.check();
  }

  private candidateLost(node: string): void {
    if (this.lostNode !== node) {
      this.lostNode = node;
      this.log.warn(
        { path: node, identity: this.identity },
        'our leader election candidate node was deleted by another client; stepping down and entering again',
      );
    }
    this.stepDown('candidate node deleted');
  }

  private becomeLeader(): void {
    if (this.leader || this.stopped) return;
    this.leader = true;
    this.gauge.set(1);
    this.log.info({ node: this.node, identity: this.identity }, 'became the leader: this replica writes to Kubernetes');
    this.listener.onElected();
  }

  private stepDown(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.gauge.set(0);
    this.log.warn({ reason, identity: this.identity }, 'no longer the leader: stopped writing to Kubernetes');
    this.listener.onRevoked(reason);
  }
}

function sequence(name: string): number {
  return Number(name.slice(name.lastIndexOf('-') + 1));
}

function bySequence(a: string, b: string): number {
  return sequence(a) - sequence(b);
}
