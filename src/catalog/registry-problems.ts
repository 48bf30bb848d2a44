// What a registry reports it could not turn into catalog entries: skipped registrations, rejected
// policies, names two services claim. Registry-agnostic, so that admin pages and the CLI can show
// them without knowing which registry read them.
import type { PolicyFieldError } from './policy.js';

export interface InvalidRegistration {
  readonly ensemble: string;
  /**
   * The service it belongs to: the mesh name of its service node, or the node's own name where that
   * does not name a service by itself (a Dubbo interface node, whose group and version are per URL).
   */
  readonly service: string;
  /** Full znode path (with the ensemble's chroot). */
  readonly path: string;
  readonly reason: string;
}

export interface PolicyError {
  service: string;
  /** Full znode path of the policy. */
  path: string;
  errors: PolicyFieldError[];
  /** When the invalid data was read (ISO 8601). */
  at: string;
}

export interface NameCollision {
  readonly name: string;
  /** Identity keys (see naming.ts) sharing the name, the served one first. */
  readonly identities: readonly string[];
  /** Where each identity was read from (`<ensemble>:<path>`), in the same order. */
  readonly sources: readonly (readonly string[])[];
}

/** What the registry can say about what it read (the ZooKeeper registry satisfies it). */
export interface RegistryProblems {
  invalidRegistrations(): InvalidRegistration[];
  policyErrors(): PolicyError[];
  nameCollisions(): readonly NameCollision[];
}
