// Reading the YAML (or JSON, which is YAML) files named by flags: the sources file, the identities
// file. Errors name the file and what it is, never its content (it may hold credentials).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export function readYamlFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new Error(`${what} ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
