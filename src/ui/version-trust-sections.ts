/**
 * The version page's trust sections (reference/ui-screens.md §2.2, "Verified metadata table" and
 * "Attestations"): the seed's verified metadata table — each field's value, the attestation it
 * came from (predicate type and log index), the key that signed it and its status, and, when
 * other valid attestations say something else, a FAIL pill and "conflict: key A (log #i) says X;
 * key B (log #j) says Y" with each log index linking to its attestation row — with the pusher's
 * annotations greyed as unverified; and the attestation list — predicate type, signer,
 * validity now (revocation included, with the service's reason), log index, subject match and the
 * decoded statement. They render what `AttestationService.metadata` and `.list` return: the same
 * functions behind `GET …/metadata` and `GET …/attestations`.
 */
import { subjectSha256s } from '../crypto/in-toto-statement.js';
import type { AttestationView } from '../service/attestation-service.js';
import type { MetadataRow, MetadataSource, VerifiedMetadata } from '../service/verified-metadata.js';
import { html, type Html } from './html.js';
import { digestCode } from './digest-code.js';
import { statusPill, type Status } from './status-pill.js';

const HUMAN_NAMES: Readonly<Record<string, string>> = {
  'https://slsa.dev/provenance/v1': 'SLSA provenance',
  'https://in-toto.io/attestation/vulns/v0.1': 'Vulnerability scan',
  'https://in-toto.io/attestation/vulns/v0.2': 'Vulnerability scan',
  'https://in-toto.io/attestation/test-result/v0.1': 'Test result',
  'https://custody.dev/attestation/red-team/v1': 'Red-team report',
  'https://model_signing/signature/v1.0': 'OMS model signature',
  'https://slsa.dev/verification_summary/v1': 'Verification summary (VSA)',
};

const NONE = html`<span class="muted">—</span>`;

function predicateLabel(predicateType: string): Html {
  const name = HUMAN_NAMES[predicateType];
  return html`${name === undefined ? '' : html`${name}<br>`}<code>${predicateType}</code>`;
}

/** A metadata value as text: strings as they are, anything else as compact JSON. */
function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}

/** "key A (log #i) says X; key B (log #j) says Y": the row's source first, then each conflict, as plain text. */
function conflictText(row: MetadataRow): string {
  const said = (source: MetadataSource, value: unknown): string => `key ${source.key} (log #${source.logIndex}) says ${valueText(value)}`;
  return [...(row.source === null ? [] : [said(row.source, row.value)]), ...row.conflicts.map((c) => said(c.source, c.value))].join('; ');
}

/** The same sentence as markup: each log index links to its row in the attestation list. */
function conflictSentence(row: MetadataRow): Html {
  const said = (source: MetadataSource, value: unknown): Html =>
    html`key <strong>${source.key}</strong> (<a href="#attestation-${source.logIndex}">log #${source.logIndex}</a>) says <code>${valueText(value)}</code>`;
  const parts = [...(row.source === null ? [] : [said(row.source, row.value)]), ...row.conflicts.map((c) => said(c.source, c.value))];
  return html`<br><span class="error" data-conflicts="${row.conflicts.length}">conflict: ${parts.map((part, i) => html`${i === 0 ? '' : '; '}${part}`)}</span>`;
}

function metadataPill(row: MetadataRow): Html {
  if (row.status === 'verified' && row.conflicts.length > 0) {
    return html`${statusPill('FAIL', `Conflict: ${row.field}: ${conflictText(row)}`)} conflict${conflictSentence(row)}`;
  }
  const status: Status = row.status === 'verified' ? 'PASS' : row.status === 'invalid' ? 'REVOKED' : 'MISSING';
  const said = row.status === 'verified' ? 'verified' : row.status === 'invalid' ? `invalid: ${row.reason ?? ''}` : 'missing: no attestation states it';
  return html`${statusPill(status, `${row.field}: ${said}`)} ${row.status}`;
}

function metadataRow(row: MetadataRow): Html {
  const source = row.source;
  return html`<tr data-field="${row.field}" data-status="${row.status}" data-source-log-index="${source?.logIndex ?? ''}" data-source-key="${source?.key ?? ''}">
<th scope="row"><code>${row.field}</code></th>
<td>${row.status === 'missing' ? NONE : html`<code>${valueText(row.value)}</code>`}</td>
<td>${source === null ? NONE : html`${predicateLabel(source.predicateType)}, log index ${source.logIndex}`}</td>
<td>${source === null ? NONE : html`<strong>${source.key}</strong> ${digestCode(source.keyId)}`}</td>
<td>${metadataPill(row)}${row.status === 'invalid' && row.reason !== null ? html` <span class="muted">(${row.reason})</span>` : ''}</td>
</tr>`;
}

/** An annotation as a greyed row: the pusher's claim, from no attestation, signed by no key. */
function annotationRow(field: string, value: unknown): Html {
  return html`<tr class="unverified" data-field="${field}" data-status="unverified" data-source-log-index="" data-source-key="">
<th scope="row"><code>${field}</code></th>
<td><code>${valueText(value)}</code></td>
<td>annotation (the pusher's claim)</td>
<td>${NONE}</td>
<td>${statusPill('PENDING', `${field}: unverified claim, never used by gates`)} unverified</td>
</tr>`;
}

function metadataTable(caption: string, rows: readonly MetadataRow[], extra: readonly Html[] = []): Html {
  return html`<table>
<caption>${caption}</caption>
<thead><tr><th scope="col">Field</th><th scope="col">Value</th><th scope="col">Source</th><th scope="col">Signing key</th><th scope="col">Status</th></tr></thead>
<tbody>
${rows.map(metadataRow)}
${extra}
</tbody>
</table>`;
}

function annotationRows(annotations: unknown): Html[] {
  if (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations)) return [];
  return Object.entries(annotations as Record<string, unknown>).map(([field, value]) => annotationRow(field, value));
}

/**
 * The verified metadata table (the seed's fields, then the training provenance fields) and the
 * pusher's annotations, greyed and marked unverified: they are never used by gates.
 */
export function verifiedMetadataSection(metadata: VerifiedMetadata): Html {
  const annotations = metadata.annotations === null || metadata.annotations === undefined ? null : JSON.stringify(metadata.annotations, null, 2);
  return html`<section class="stack" aria-labelledby="verified-metadata" data-section="verified-metadata">
<h2 id="verified-metadata">Verified metadata</h2>
${metadataTable('Seed fields', metadata.seed)}
${metadataTable('Training provenance and annotations', metadata.training, annotationRows(metadata.annotations))}
<h3>Annotations <span class="muted">(unverified)</span></h3>
${annotations === null
  ? html`<p class="muted">None.</p>`
  : html`<p class="muted">Free JSON from the pusher: shown, never verified, never used by gates.</p><pre class="unverified">${annotations}</pre>`}
</section>`;
}

/** "valid" / "revoked" / "invalid": what the row's `data-validity` and pill say. */
export function validityOf(view: AttestationView): 'valid' | 'revoked' | 'invalid' {
  if (view.status.valid) return 'valid';
  return view.status.code === 'KEY_REVOKED' ? 'revoked' : 'invalid';
}

function validityCell(view: AttestationView): Html {
  const validity = validityOf(view);
  if (view.status.valid) {
    const revocation = view.key?.revocation ?? null;
    const note = revocation === null ? '' : html` <span class="muted">(key revoked on ${revocation.compromisedSince ?? revocation.revokedAt}, logged before: still valid)</span>`;
    return html`${statusPill('PASS', 'Attestation valid')} valid${note}`;
  }
  const pill = validity === 'revoked' ? statusPill('REVOKED', `Attestation revoked: ${view.status.message}`) : statusPill('FAIL', `Attestation invalid: ${view.status.message}`);
  return html`${pill} ${validity}: ${view.status.message}`;
}

function subjectCell(view: AttestationView, versionDigest: string): Html {
  const matches = subjectSha256s(view.statement).some((hex) => `sha256:${hex}` === versionDigest);
  return html`<span data-subject-match="${matches ? 'true' : 'false'}">${statusPill(matches ? 'PASS' : 'FAIL', matches ? 'Subject digest matches this version' : 'No subject digest matches this version')} ${matches ? 'matches' : 'does not match'}</span>`;
}

function attestationRow(view: AttestationView, versionDigest: string): Html {
  const { record, statement } = view;
  const decoded = JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: statement.subject, predicateType: statement.predicateType, predicate: statement.predicate }, null, 2);
  return html`<tr id="attestation-${record.logIndex}" data-predicate-type="${record.predicateType}" data-key="${record.keyName}" data-key-id="${record.keyId}" data-log-index="${record.logIndex}" data-validity="${validityOf(view)}">
<th scope="row">${predicateLabel(record.predicateType)}</th>
<td><strong>${record.keyName}</strong> ${digestCode(record.keyId)}</td>
<td>${validityCell(view)}</td>
<td>${record.logIndex} <span class="muted">(${record.loggedAt})</span></td>
<td>${subjectCell(view, versionDigest)}</td>
<td><details><summary>Statement</summary><pre>${decoded}</pre></details></td>
</tr>`;
}

/** The attestation list, in log order, each judged against the key records now. */
export function attestationsSection(versionDigest: string, views: readonly AttestationView[]): Html {
  return html`<section class="stack" aria-labelledby="attestations" data-section="attestations">
<h2 id="attestations">Attestations</h2>
${views.length === 0
  ? html`<p class="muted">No attestations yet.</p>`
  : html`<table>
<thead><tr><th scope="col">Predicate type</th><th scope="col">Signer</th><th scope="col">Validity</th><th scope="col">Log index</th><th scope="col">Subject</th><th scope="col">Decoded statement</th></tr></thead>
<tbody>
${views.map((v) => attestationRow(v, versionDigest))}
</tbody>
</table>`}
</section>`;
}
