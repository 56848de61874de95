import { describe, expect, it } from 'vitest';
import { BACKENDS, startTestRegistry } from '../support/registry.js';

describe.each(BACKENDS)('registry on %s', (backend) => {
  it('answers whoami for the bootstrap admin', async () => {
    const reg = await startTestRegistry(backend);
    try {
      const client = reg.client();
      expect((await client.whoami()).name).toBe('admin');
      client.close();
    } finally {
      await reg.stop();
    }
  });
});
