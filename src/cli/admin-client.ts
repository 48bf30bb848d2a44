// How the operator commands (`zk-xds status`, `zk-xds inspect`) talk to a running zk-xds: GET on
// its admin port (with the admin bearer token when given a token file), with errors that name the
// URL tried and never the token.
import { readFileSync } from 'node:fs';

/** Ends a command with a message on stderr and an exit code (main.ts prints and exits). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Exit codes of the operator commands. A usage error (unknown flag, missing argument) exits 2 as
 * well, as command-line tools customarily do: either way the command did not get to look.
 */
export const EXIT = { ok: 0, findings: 1, unreachable: 2, usage: 2 } as const;

const REQUEST_TIMEOUT_MS = 10_000;

/** The token in `file` (trimmed); a failure names the file, never its content. */
export function readAdminToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new CommandFailure(`cannot read --admin-token-file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage);
  }
  if (token === '') throw new CommandFailure(`--admin-token-file ${file} is empty`, EXIT.usage);
  return token;
}

/**
 * GETs `path` from the admin base URL, sending the token of `tokenFile` if given; 404 comes back as
 * such, other failures throw CommandFailure (exit 2).
 */
export async function getAdmin<T>(base: string, path: string, tokenFile?: string): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = tokenFile === undefined ? {} : { authorization: `Bearer ${readAdminToken(tokenFile)}` };
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new CommandFailure(`--admin is not a URL (expected e.g. http://127.0.0.1:9901)`, EXIT.unreachable);
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CommandFailure(`cannot reach the zk-xds admin port at ${url.origin} (${why}); is zk-xds running, and is --admin right?`, EXIT.unreachable);
  }
  // Never url.href: it would repeat credentials written into --admin.
  const where = `${url.origin}${url.pathname}${url.search}`;
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CommandFailure(`${where} answered ${res.status} with something that is not JSON; is ${url.origin} a zk-xds admin port?`, EXIT.unreachable);
  }
  if (res.status !== 200 && res.status !== 404) {
    const error = (body as { error?: string }).error ?? text.slice(0, 200);
    const hint = res.status === 401 || res.status === 403 ? (tokenFile === undefined ? ' (pass --admin-token-file)' : ' (check --admin-token-file)') : '';
    throw new CommandFailure(`${where} answered ${res.status}: ${error}${hint}`, EXIT.unreachable);
  }
  return { status: res.status, body: body as T };
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
