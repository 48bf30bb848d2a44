// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time.
//   node dist/bench/cpu-profile.js <file.cpuprofile> [count]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function topSelfTime(profile: Profile, n: number): Array<{ ms: number; fn: string }> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, k) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0));
  });
  const byFn = new Map<string, number>();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '')}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (self.get(node.id) ?? 0) / 1000);
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, ms }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpu-profile.js <file.cpuprofile> [count]');
    process.exit(2);
  }
  for (const { fn, ms } of topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(count ?? 25)))
    console.log(`${ms.toFixed(0).padStart(7)} ms  ${fn}`);
}
