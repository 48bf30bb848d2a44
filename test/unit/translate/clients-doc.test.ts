// docs/clients.md shows the capability table zk-xds really uses: rendered from the typed table
// (src/translate/client-capabilities.ts) and the view each client gets (src/xds/client-profile.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '../../../src/xds/protos.js';
import { renderCapabilityTable } from '../../support/capability-table.js';

it('docs/clients.md holds the capability table the code uses', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'clients.md'), 'utf8');
  const block = /<!-- capability-table:start -->\n([\s\S]*?)<!-- capability-table:end -->/.exec(doc)?.[1];
  expect(block).toBe(renderCapabilityTable());
});
