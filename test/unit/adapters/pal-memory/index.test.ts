import { createMemoryPal } from '../../../../src/adapters/pal-memory/index.js';
import { palConformance } from '../../storage/pal-conformance.js';

palConformance('memory', ({ small }) => {
  const pal = createMemoryPal(small ? { capacity: 64 * 1024 } : {});
  return { pal, reopen: () => pal };
});
