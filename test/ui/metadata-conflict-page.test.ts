/**
 * The version page's verified metadata table marks conflicts (reference/ui-screens.md §2.2,
 * "conflict: A says X, B says Y") over real HTTP on both metadata stores: two valid provenance
 * attestations from different training keys naming different datasets give the row a FAIL pill
 * with an aria-label and the word "conflict" (never colour alone) and the sentence "conflict: key
 * A (log #i) says X; key B (log #j) says Y", each log index linking to its attestation row; a
 * conflicting value holding a script is escaped like every other value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/ui/html.js';
import { addSeedKeysAndSecondTrainer, attest, pushModel, type PushedVersion, type SeedKeys } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api, provenancePredicate, SLSA, type TestKey } from '../support/trust-fixtures.js';
import { page, signInCookie } from '../support/ui-session.js';

const OTHER_DATA = `sha256:${'e7'.repeat(32)}`;
const ORIGINAL_DATA = `sha256:${'d'.repeat(64)}`;
const XSS = '<script>window.__pwned = 1</script>';

interface Listed {
  readonly key: string;
  readonly logIndex: number;
  readonly predicateType: string;
}

/** The HTML of the page's `<section … data-section="name">`. */
function section(text: string, name: string): string {
  const found = new RegExp(`<section [^>]*data-section="${name}">([\\s\\S]*?)</section>`).exec(text)?.[1];
  if (found === undefined) throw new Error(`no ${name} section on the page`);
  return found;
}

/** The verified metadata table's row of `field`. */
function metadataRow(text: string, field: string): string {
  const found = new RegExp(`<tr data-field="${field}" data-status="verified"[^>]*>([\\s\\S]*?)</tr>`).exec(section(text, 'verified-metadata'))?.[1];
  if (found === undefined) throw new Error(`no verified ${field} row`);
  return found;
}

/** A provenance predicate whose entry point is `entryPoint`. */
function withEntryPoint(entryPoint: string): Record<string, unknown> {
  const predicate = provenancePredicate();
  const definition = predicate['buildDefinition'] as Record<string, Record<string, unknown>>;
  definition['externalParameters'] = { ...definition['externalParameters'], entryPoint };
  return predicate;
}

describe.each(BACKENDS)('the version page marks conflicting verified metadata on %s', (backend) => {
  let reg: TestRegistry;
  let keys: SeedKeys;
  let second: TestKey;
  let conflicted: PushedVersion;
  let scripted: PushedVersion;
  let cookie: string;

  async function provenanceIndexes(version: PushedVersion): Promise<{ original: number; newer: number }> {
    const reply = await api(reg, 'GET', `/api/v1/models/${version.model}/versions/${version.digest}/attestations`);
    const items = (reply.json['items'] as Listed[]).filter((a) => a.predicateType === SLSA);
    const indexOf = (key: string): number => {
      const found = items.find((a) => a.key === key);
      if (found === undefined) throw new Error(`no provenance by ${key}`);
      return found.logIndex;
    };
    return { original: indexOf('training-cluster'), newer: indexOf('training-cluster-2') };
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    ({ keys, second } = await addSeedKeysAndSecondTrainer(reg));
    conflicted = await pushModel(reg, 'fraud/conflicted', keys.training);
    await attest(reg, conflicted, second, SLSA, provenancePredicate({ trainingData: OTHER_DATA.slice('sha256:'.length) }));
    scripted = await pushModel(reg, 'fraud/scripted', keys.training);
    await attest(reg, scripted, second, SLSA, withEntryPoint(XSS));
    cookie = await signInCookie(reg, reg.token);
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('shows a FAIL pill saying "conflict" and both sources, each log index linked to its attestation row', async () => {
    const reply = await page(reg, `/models/fraud/conflicted/versions/${conflicted.digest}`, { cookie });
    expect(reply.status, reply.text).toBe(200);
    const { original, newer } = await provenanceIndexes(conflicted);
    const row = metadataRow(reply.text, 'training_data_hash');
    expect(row).toContain(`<code>${OTHER_DATA}</code>`);
    const sentence = `key training-cluster-2 (log #${newer}) says ${OTHER_DATA}; key training-cluster (log #${original}) says ${ORIGINAL_DATA}`;
    expect(row).toContain(`role="img" aria-label="Conflict: training_data_hash: ${sentence}"><span aria-hidden="true">✗</span> FAIL</span> conflict`);
    expect(row).toContain(
      `<span class="error" data-conflicts="1">conflict: key <strong>training-cluster-2</strong> (<a href="#attestation-${newer}">log #${newer}</a>) says <code>${OTHER_DATA}</code>; ` +
        `key <strong>training-cluster</strong> (<a href="#attestation-${original}">log #${original}</a>) says <code>${ORIGINAL_DATA}</code></span>`,
    );
    // Each link has its target in the attestation list.
    const attestations = section(reply.text, 'attestations');
    for (const index of [original, newer]) expect(attestations).toContain(`<tr id="attestation-${index}" `);
    // Only that row conflicts: the two statements agree on everything else.
    expect(section(reply.text, 'verified-metadata').match(/data-conflicts=/g)).toHaveLength(1);
    expect(metadataRow(reply.text, 'source_code_commit')).not.toContain('conflict');
  });

  it('escapes a conflicting value holding a script, in the sentence and the pill label', async () => {
    const reply = await page(reg, `/models/fraud/scripted/versions/${scripted.digest}`, { cookie });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).not.toContain('<script>window.__pwned');
    const { original, newer } = await provenanceIndexes(scripted);
    const row = metadataRow(reply.text, 'entry_point');
    expect(row).toContain(`<code>${escapeHtml(XSS)}</code>`);
    expect(row).toContain(`aria-label="Conflict: entry_point: key training-cluster-2 (log #${newer}) says ${escapeHtml(XSS)}; key training-cluster (log #${original}) says train.py"`);
    expect(row).toContain(`(<a href="#attestation-${newer}">log #${newer}</a>) says <code>${escapeHtml(XSS)}</code>; `);
  });
});
