import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { defaultSources, validateSources } from '../../../src/registry/sources-config.js';
import { readYamlFile } from '../../../src/cli/yaml-file.js';

const loadSourcesFile = (p: string) => validateSources(readYamlFile(p, 'sources file'), `sources file ${p}`);
import { loadCredentials } from '../../../src/zookeeper/credentials.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-sources-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('sources file', () => {
  it('reads the YAML form with defaults filled in', () => {
    const p = file(
      'ok.yaml',
      `ensembles:
  - name: main
    connect: zk-0:2181,zk-1:2181
    chroot: /prod
    auth: { env: ZKXDS_ZK_AUTH_MAIN }
    roots:
      - { path: /services, layout: auto }
      - { path: /dubbo, layout: dubbo }
  - name: dr
    connect: 10.9.0.1:2181
    roots: [{ path: /services }]
naming:
  dubboInterface: "{interface}.{group}"
`,
    );
    const sources = loadSourcesFile(p);
    expect(sources.ensembles.map((e) => [e.name, e.chroot, e.roots])).toEqual([
      [
        'main',
        '/prod',
        [
          { path: '/services', layout: 'auto' },
          { path: '/dubbo', layout: 'dubbo' },
        ],
      ],
      ['dr', undefined, [{ path: '/services', layout: 'auto' }]],
    ]);
    expect(sources.naming).toEqual({ dubboInterface: '{interface}.{group}', dubboApplication: '{protocol}.{application}' });
  });

  it.each([
    ['an unknown field', { ensembles: [{ name: 'a', connect: 'h:1', roots: [{ path: '/s' }], password: 'x' }] }, 'ensembles.0: unknown field "password"'],
    [
      'a bad layout',
      { ensembles: [{ name: 'a', connect: 'h:1', roots: [{ path: '/s', layout: 'eureka' }] }] },
      'ensembles.0.roots.0.layout: must be equal to one of the allowed values',
    ],
    [
      'a name that is not a DNS label',
      { ensembles: [{ name: 'Main_1', connect: 'h:1', roots: [{ path: '/s' }] }] },
      'ensembles.0.name: "Main_1" is not valid here',
    ],
    [
      'a chroot inside connect',
      { ensembles: [{ name: 'a', connect: 'h:1/prod', roots: [{ path: '/s' }] }] },
      'ensembles.0.connect: "h:1/prod" is not valid here',
    ],
    [
      'auth with both file and env',
      { ensembles: [{ name: 'a', connect: 'h:1', auth: { file: '/f', env: 'E' }, roots: [{ path: '/s' }] }] },
      'ensembles.0.auth: must have exactly one of file, env',
    ],
    [
      'a relative root',
      { ensembles: [{ name: 'a', connect: 'h:1', roots: [{ path: 'services' }] }] },
      'ensembles.0.roots.0.path: "services" is not valid here',
    ],
    ['no ensembles', { ensembles: [] }, 'ensembles: must NOT have fewer than 1 items'],
    [
      'a name used twice',
      {
        ensembles: [
          { name: 'a', connect: 'h:1', roots: [{ path: '/s' }] },
          { name: 'a', connect: 'h:2', roots: [{ path: '/s' }] },
        ],
      },
      'ensembles.1.name: "a" is used twice',
    ],
  ])('rejects %s, naming the field', (_label, data, message) => {
    expect(() => validateSources(data, 'test')).toThrow(message);
  });

  it('says which file is not YAML', () => {
    expect(() => loadSourcesFile(file('bad.yaml', 'ensembles: [\n'))).toThrow(/^sources file .*bad\.yaml is not valid YAML/);
  });

  it('builds the single ensemble `default` from the flags, with /dubbo read as Dubbo 2', () => {
    expect(defaultSources({ zk: 'h:1/chroot', zkRoot: '/services', zkAuthFile: '/run/secret' }).ensembles).toEqual([
      {
        name: 'default',
        connect: 'h:1/chroot',
        auth: { file: '/run/secret' },
        roots: [
          { path: '/services', layout: 'auto' },
          { path: '/dubbo', layout: 'dubbo' },
        ],
      },
    ]);
  });
});

describe('ZooKeeper credentials', () => {
  const SECRET = 'alice:s3cr3t-value';

  it('reads a file (trailing newline dropped) and an env variable', () => {
    expect(loadCredentials({ file: file('auth', `${SECRET}\n`) }).reveal()).toBe(SECRET);
    expect(loadCredentials({ env: 'ZK_AUTH_T' }, { ZK_AUTH_T: SECRET }).reveal()).toBe(SECRET);
  });

  it('never shows the password when logged, printed or serialised', () => {
    const creds = loadCredentials({ env: 'ZK_AUTH_T' }, { ZK_AUTH_T: SECRET });
    expect(creds.user).toBe('alice');
    for (const text of [String(creds), JSON.stringify({ creds }), inspect(creds), inspect({ creds }, { depth: 5, showHidden: true })]) {
      expect(text).not.toContain('s3cr3t');
    }
  });

  it('errors name the source, never the content', () => {
    const bad = file('auth-bad', 'no-colon-s3cr3t\n');
    expect(() => loadCredentials({ file: bad })).toThrow(`ZooKeeper credentials in file ${bad} are not one line of the form user:password`);
    expect(() => loadCredentials({ file: bad })).not.toThrow(/s3cr3t/);
    expect(() => loadCredentials({ file: path.join(dir, 'missing') })).toThrow(/cannot read ZooKeeper credentials from file .*missing: ENOENT/);
    expect(() => loadCredentials({ env: 'ZK_AUTH_UNSET' }, {})).toThrow('ZooKeeper credentials env ZK_AUTH_UNSET is not set');
  });
});
