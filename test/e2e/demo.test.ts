/**
 * `custody demo` (issue 6 §9): the seed's scenario through the built CLI, against the temporary
 * registry it starts itself. It must end with exit 0 and narrate every step the issue lists.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/registry.js';

describe('custody demo', () => {
  it("plays the seed's scenario end to end, narrating every step, and exits 0", async () => {
    const result = await runCli(['demo']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    for (const line of [
      'key training-cluster may sign',
      'key security-scanner may sign',
      'key sandbox may sign',
      'key red-team may sign',
      'is in development',
      'security-scanner: no critical vulnerabilities',
      'sandbox: behavioural tests PASSED',
      'allowed: ci-release moved staging',
      'refused: only service principals may promote into production',
      'denied — red-team-approved: Red team assessment is pending or rejected',
      'allowed: production now holds',
      'https://slsa.dev/verification_summary/v1',
      'VSA verified',
      'key security-scanner revoked',
      'QUARANTINED',
      'pull @production refused',
      'stays proposed',
      'the two-person rule',
      'verified with the pinned log key',
      'Demo complete.',
    ]) {
      expect(out, line).toContain(line);
    }
  });
});
