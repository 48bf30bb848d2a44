import { describe, expect, it } from '@jest/globals';
import { parseDubboConsumer } from '../../../src/registry/parsers/dubbo-consumer.js';
import { consumerPattern } from '../../../src/registry/scope-watcher.js';
import { DEFAULT_NAMING } from '../../../src/catalog/naming.js';

const enc = (url: string) => encodeURIComponent(url);

describe('Dubbo consumer registrations', () => {
  it('name the calling application and the interface, group and version it asked for', () => {
    const parsed = parseDubboConsumer(
      'org.example.Orders',
      enc('consumer://10.0.0.5/org.example.Orders?application=web&category=consumers&side=consumer&version=1.0.0&group=east'),
    );
    expect(parsed).toEqual({ ok: true, value: { application: 'web', interface: 'org.example.Orders', group: 'east', version: '1.0.0' } });
    expect(parsed.ok && consumerPattern(parsed.value, DEFAULT_NAMING)).toBe('1-0-0.east.org.example.orders');
  });

  it("turn a '*' group or version into a glob", () => {
    const parsed = parseDubboConsumer('org.example.Orders', enc('consumer://10.0.0.5/org.example.Orders?application=web&side=consumer&version=*'));
    expect(parsed.ok && consumerPattern(parsed.value, DEFAULT_NAMING)).toBe('*.org.example.orders');
  });

  it('are rejected without an application, or when they are not consumer URLs', () => {
    expect(parseDubboConsumer('I', enc('consumer://10.0.0.5/I?side=consumer'))).toEqual({ ok: false, reason: 'consumer url has no application parameter' });
    expect(parseDubboConsumer('I', enc('dubbo://10.0.0.5:20880/I?application=a&side=provider')).ok).toBe(false);
    expect(parseDubboConsumer('I', '%E0%A4%A').ok).toBe(false);
  });
});
