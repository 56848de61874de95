/**
 * The seed with an open staging environment, for tests that promote fresh versions round after
 * round (SPEC §7; examples/policies/staging.yaml): the shipped staging policy without its
 * `requireFrom`, so any version with signed training provenance and a clean scan can be promoted
 * straight to staging (`promotion-fixtures.ts` builds the seed).
 */
import { activatePolicy, editablePolicy, examplePolicy, setUpSeed, type Seed } from './promotion-fixtures.js';
import type { TestRegistry } from './registry.js';

/** The seed's keys and principals, no shipped policy, and staging's policy minus `requireFrom` active. */
export async function setUpStagingSeed(reg: TestRegistry): Promise<Seed> {
  const seed = await setUpSeed(reg, []);
  const staging = await examplePolicy('staging');
  const doc = editablePolicy(staging.document);
  delete doc.spec.requireFrom;
  await activatePolicy(reg, doc, staging.fixtures, seed.principals.approver);
  return seed;
}
