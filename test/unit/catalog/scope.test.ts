import { describe, expect, it } from '@jest/globals';
import { MAX_SCOPE_BYTES, ScopeBook, ScopeMatcher, globMatcher, parseScopeDocument, parseScopeMetadata } from '../../../src/catalog/scope.js';

describe('parseScopeDocument', () => {
  it('accepts names and globs, dropping repeats', () => {
    expect(parseScopeDocument('{"services": ["orders", "pay*", "orders"]}')).toEqual({ ok: true, services: ['orders', 'pay*'] });
    expect(parseScopeDocument('{"services": []}')).toEqual({ ok: true, services: [] });
  });

  it('rejects with the JSON pointer of each bad field', () => {
    expect(parseScopeDocument('{"services": ["ok", "Not OK"]}')).toEqual({
      ok: false,
      errors: [{ field: '/services/1', message: expect.stringContaining('not a mesh name or glob') }],
    });
    const unknown = parseScopeDocument('{"servics": ["a"]}');
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.errors.map((e) => e.field).sort()).toEqual(['/services', '/servics']);
    expect(parseScopeDocument('{"services": "orders"}')).toEqual({ ok: false, errors: [{ field: '/services', message: 'must be array' }] });
    expect(parseScopeDocument('[]')).toEqual({ ok: false, errors: [{ field: '', message: 'the scope must be a JSON object' }] });
  });

  it('never quotes the input of a document that is not JSON, and refuses oversized ones', () => {
    expect(parseScopeDocument('{"services": [secret')).toEqual({ ok: false, errors: [{ field: '', message: 'is not valid JSON' }] });
    expect(parseScopeDocument(Buffer.from([0xff, 0xfe]))).toEqual({ ok: false, errors: [{ field: '', message: 'is not valid UTF-8' }] });
    expect(parseScopeDocument('x'.repeat(MAX_SCOPE_BYTES + 1)).ok).toBe(false);
  });
});

describe('parseScopeMetadata', () => {
  it('takes a comma list or a JSON list, and sets invalid entries apart', () => {
    expect(parseScopeMetadata(' orders, pay* ,,')).toEqual({ patterns: ['orders', 'pay*'], invalid: [] });
    expect(parseScopeMetadata('["orders", "Bad!", 3]')).toEqual({ patterns: ['orders'], invalid: ['Bad!', '3'] });
    expect(parseScopeMetadata('[not json')).toEqual({ patterns: [], invalid: ['[not json'] });
  });
});

describe('globs', () => {
  it('match any run of characters at each *, dots and dashes literal elsewhere', () => {
    const pay = globMatcher('pay*');
    expect(['pay', 'payments', 'pay-gw', 'pay.v1'].every(pay)).toBe(true);
    expect(pay('repay')).toBe(false);
    expect(globMatcher('*.orders')('v1.orders')).toBe(true);
    expect(globMatcher('*.orders')('v1-orders')).toBe(false);
    const m = new ScopeMatcher(['web', 'pay*']);
    expect(['web', 'payments'].map((n) => m.matches(n))).toEqual([true, true]);
    expect(m.matches('webby')).toBe(false);
  });
});

describe('ScopeBook', () => {
  it('merges the explicit document, learned consumers and node metadata, and says which clusters changed', () => {
    const book = new ScopeBook();
    const heard: string[][] = [];
    book.onChange((c) => heard.push([...c].sort()));
    expect(book.scopeOf('shop')).toBeUndefined();
    book.setExplicit('shop', ['orders'], '/zk-xds/scope/shop');
    book.setLearned(
      new Map([
        ['shop', [{ pattern: 'greeter', source: 'dubbo-consumer', from: '/dubbo/G/consumers/c1' }]],
        ['web', []],
      ]),
    );
    expect(book.scopeOf('shop', [{ pattern: 'db', source: 'node-metadata', from: 'node-1' }])!.map((e) => `${e.pattern}<-${e.source}`)).toEqual([
      'orders<-znode',
      'greeter<-dubbo-consumer',
      'db<-node-metadata',
    ]);
    // A learned list of nothing is no scope; the same entries again notify nobody.
    expect(book.scopeOf('web')).toBeUndefined();
    book.setLearned(new Map([['shop', [{ pattern: 'greeter', source: 'dubbo-consumer', from: '/dubbo/G/consumers/c1' }]]]));
    book.setExplicit('shop', undefined, '/zk-xds/scope/shop');
    book.setLearned(new Map());
    expect(book.scopeOf('shop')).toBeUndefined();
    expect(heard).toEqual([['shop'], ['shop'], ['shop'], ['shop']]);
    // An explicit empty list is a scope of nothing.
    book.setExplicit('strict', [], '/zk-xds/scope/strict');
    expect(book.scopeOf('strict')).toEqual([]);
  });
});

describe('ScopeBook state and replace (a serving worker copy of the main book)', () => {
  it('copies explicit and learned entries and tells listeners only the clusters that changed', () => {
    const main = new ScopeBook();
    main.setExplicit('shop', ['orders', 'pay*'], '/zk-xds/scope/shop');
    main.setLearned(new Map([['web', [{ pattern: 'catalog', source: 'dubbo-consumer', from: '/dubbo/x/consumers/a' }]]]));
    const copy = new ScopeBook();
    const heard: string[][] = [];
    copy.onChange((clusters) => heard.push([...clusters].sort()));
    copy.replace(structuredClone(main.state()));
    expect(copy.scopeOf('shop')).toEqual(main.scopeOf('shop'));
    expect(copy.scopeOf('web')).toEqual(main.scopeOf('web'));
    expect(heard).toEqual([['shop', 'web']]);

    main.setExplicit('shop', undefined, '/zk-xds/scope/shop');
    main.setExplicit('api', ['db'], '/zk-xds/scope/api');
    copy.replace(structuredClone(main.state()));
    expect(copy.scopeOf('shop')).toBeUndefined();
    expect(copy.clusters()).toEqual(['api', 'web']);
    expect(heard[1]).toEqual(['api', 'shop']);
    copy.replace(structuredClone(main.state()));
    expect(heard).toHaveLength(2);
  });
});
