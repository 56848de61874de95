/**
 * `pull NS/NAME@ENV` trusts the pinned VSA key, not the registry (issue 6 §6, acceptance "pull
 * @production rejects a VSA for another digest"; SPEC §10 "re-point metadata", "insider edits the
 * database"). A real registry promotes two versions; an insider then swaps the production
 * decision's stored VSA for one issued to the other version, or to the same version for another
 * environment, or re-points the production alias without any decision. Each pull is refused with
 * VERIFICATION_FAILED before a byte is written; the untampered pull verifies.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogWitness } from '../../src/sdk/log-witness.js';
import { promoteExpecting, pushModel, attestSeed, setUpSeed, vsaKeyOf, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';

describe.each(BACKENDS)('pull @environment against a tampered registry on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let first: PushedVersion;
  let second: PushedVersion;
  let out: string;

  /** Pulls @production as a deployer who pinned the log key and the VSA key beforehand. */
  async function pullProduction(model: string, target: string): Promise<unknown> {
    const client = reg.client();
    try {
      const { verifierKey } = await client.logKey();
      const { publicKey } = await vsaKeyOf(reg);
      return await client.pull(`${model}@production`, { output: path.join(out, target), witness: new LogWitness(verifierKey), vsaKey: publicKey });
    } finally {
      client.close();
    }
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    out = await mkdtemp(path.join(tmpdir(), 'custody-pull-env-'));
    seed = await setUpSeed(reg);
    first = await pushModel(reg, 'fraud/one', seed.keys.training);
    second = await pushModel(reg, 'fraud/two', seed.keys.training);
    for (const v of [first, second]) {
      await attestSeed(reg, v, seed.keys);
      await promoteExpecting(reg, v, 'staging', seed.principals.ci, 'allow');
      await promoteExpecting(reg, v, 'production', seed.principals.ci, 'allow');
    }
  });

  afterAll(async () => {
    await reg.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('verifies an untampered placement: the VSA names this digest and this environment', async () => {
    const pulled = (await pullProduction('fraud/one', 'clean')) as { version: { digest: string }; placement: { placedBy: { kind: string } } };
    expect(pulled.version.digest).toBe(first.digest);
    expect(pulled.placement.placedBy.kind).toBe('decision');
  });

  it("refuses a production decision whose VSA was swapped for another version's", async () => {
    await rawSql(
      reg,
      "update decisions set vsa = (select vsa from decisions where version_digest = ? and environment = 'production' and outcome = 'allow') where version_digest = ? and environment = 'production' and outcome = 'allow'",
      [second.digest, first.digest],
    );
    await expect(pullProduction('fraud/one', 'swapped-digest')).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(existsSync(path.join(out, 'swapped-digest'))).toBe(false);
  });

  it("refuses a production decision whose VSA was swapped for the same version's staging VSA", async () => {
    await rawSql(
      reg,
      "update decisions set vsa = (select vsa from decisions where version_digest = ? and environment = 'staging' and outcome = 'allow') where version_digest = ? and environment = 'production' and outcome = 'allow'",
      [second.digest, second.digest],
    );
    await expect(pullProduction('fraud/two', 'swapped-environment')).rejects.toMatchObject({ code: 'VERIFICATION_FAILED', message: expect.stringMatching(/environment/i) as unknown });
    expect(existsSync(path.join(out, 'swapped-environment'))).toBe(false);
  });

  it('refuses a production alias re-pointed without a decision (no VSA to show)', async () => {
    const three = await pushModel(reg, 'fraud/one', seed.keys.training);
    await rawSql(reg, "update aliases set version_id = (select id from versions where digest = ?), version_digest = ?, decision_id = null where namespace = 'fraud' and name = 'one' and environment = 'production'", [
      three.digest,
      three.digest,
    ]);
    await expect(pullProduction('fraud/one', 'repointed')).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(existsSync(path.join(out, 'repointed'))).toBe(false);
  });
});
