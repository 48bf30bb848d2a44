// ZooKeeper digest credentials (`user:password`), read from a file or an environment variable,
// never from the command line. The value is wrapped so that logging, JSON-encoding or inspecting
// it prints a placeholder: only the connection, when it hands it to the client, reveals it.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

const REDACTED = '[redacted zookeeper credentials]';

export class ZkDigestCredentials {
  readonly #secret: string;

  constructor(
    secret: string,
    /** Where it came from (`file /etc/..` or `env ZKXDS_..`), safe to log. */
    readonly origin: string,
  ) {
    this.#secret = secret;
  }

  /** The user part, safe to log (ZooKeeper ACLs name it anyway). */
  get user(): string {
    return this.#secret.slice(0, this.#secret.indexOf(':'));
  }

  /** The `user:password` text for the ZooKeeper client: never log or print the result. */
  reveal(): string {
    return this.#secret;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export interface AuthSource {
  readonly file?: string;
  readonly env?: string;
}

/** Reads credentials; errors name the source and what is wrong with it, never its content. */
export function loadCredentials(source: AuthSource, env: NodeJS.ProcessEnv = process.env): ZkDigestCredentials {
  let text: string;
  let origin: string;
  if (source.file !== undefined) {
    origin = `file ${source.file}`;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ZooKeeper credentials from ${origin}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
    }
  } else if (source.env !== undefined) {
    origin = `env ${source.env}`;
    const value = env[source.env];
    if (value === undefined || value === '') throw new Error(`ZooKeeper credentials ${origin} is not set`);
    text = value;
  } else {
    throw new Error('ZooKeeper credentials need a file or an env variable');
  }
  // A trailing newline is what editors and `echo` leave behind; nothing else is trimmed.
  const secret = text.replace(/\r?\n$/, '');
  if (!/^[^:\s]+:\S/.test(secret) || /[\r\n]/.test(secret)) {
    throw new Error(`ZooKeeper credentials in ${origin} are not one line of the form user:password`);
  }
  return new ZkDigestCredentials(secret, origin);
}
