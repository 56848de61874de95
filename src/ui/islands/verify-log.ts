/**
 * The transparency-log explorer's island (issue 8; reference/ui-screens.md §2.6, "verify in the
 * browser, do not just dump the proof"): runs in the browser, served from
 * `/ui/assets/verify-log.js` by the page's CSP nonce. For the entry whose "Verify in browser"
 * button was pressed it shows each step with PASS / FAIL (icon and text):
 *   1. the log key: the page embeds the server's verifier key; the first key seen for an origin
 *      is pinned in localStorage, and a later page with another key fails (trust on first use —
 *      a tampered page or a rotated key is noticed, not silently accepted);
 *   2. the checkpoint (`/log/checkpoint`): its Ed25519 note signature by the pinned key, with
 *      WebCrypto;
 *   3. the entry read from the log's tiles (C2SP tlog-tiles): its bytes from the entry bundle,
 *      SHA-256(0x00 ‖ entry) recomputed and compared with the hash at its position in the
 *      level-0 hash tile and with the leaf hash the page lists;
 *   4. the inclusion proof at the checkpoint's size: every node hash recomputed up to the root,
 *      compared with the signed root;
 *   5. consistency with the last checkpoint this browser saw (size and root in localStorage),
 *      through a consistency proof; a failure is a visible warning.
 * Proof, tile and note checks are `log/portable-merkle.ts`, `log/portable-tiles.ts` and
 * `log/portable-checkpoint.ts`, inlined
 * into the served script by `island-script.ts`. tsconfig has no DOM lib: the few DOM types used
 * are declared here.
 */
import { bytesEqual, bytesToHex, hexToBytes, portableLeafHash, verifyConsistencyWith, verifyInclusionWith, webCryptoSha256, type CheckResult } from '../../log/portable-merkle.js';
import { parseVerifierKeyPortable, verifyCheckpointNote, type Ed25519Subtle, type PortableCheckpoint } from '../../log/portable-checkpoint.js';
import { portableEntryTiles, portableSplitBundle } from '../../log/portable-tiles.js';

interface IslandElement {
  textContent: string | null;
  className: string;
  disabled: boolean;
  readonly dataset: Record<string, string | undefined>;
  setAttribute(name: string, value: string): void;
  append(...nodes: (IslandElement | string)[]): void;
  replaceChildren(...nodes: (IslandElement | string)[]): void;
  querySelector(selector: string): IslandElement | null;
  addEventListener(type: string, listener: () => void): void;
}
declare const document: {
  querySelector(selector: string): IslandElement | null;
  querySelectorAll(selector: string): Iterable<IslandElement>;
  createElement(tag: string): IslandElement;
};
declare const localStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };

const subtle = (globalThis.crypto.subtle as unknown) as Ed25519Subtle;
const sha256 = webCryptoSha256(subtle);

function element(tag: string, className: string, ...children: (IslandElement | string)[]): IslandElement {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  node.append(...children);
  return node;
}

/** A status pill as the server draws it (`ui/status-pill.ts`): icon and text, never colour alone. */
function pill(ok: boolean, label: string): IslandElement {
  const node = element('span', `pill pill-${ok ? 'pass' : 'fail'}`, element('span', '', ok ? '✓' : '✗'), ` ${ok ? 'PASS' : 'FAIL'}`);
  node.setAttribute('role', 'img');
  node.setAttribute('aria-label', `${label}: ${ok ? 'passed' : 'failed'}`);
  node.querySelector('span')?.setAttribute('aria-hidden', 'true');
  return node;
}

class Steps {
  readonly list = element('ol', 'verify-steps');
  /** Warnings shown below the steps (an `<ol>` holds only its items). */
  readonly notes = element('div', '');
  failed = false;

  record(title: string, result: CheckResult, detail: string): boolean {
    const item = element('li', '', pill(result.ok, title), ' ', element('strong', '', title), ': ', result.ok ? detail : result.reason);
    item.setAttribute('data-step', result.ok ? 'pass' : 'fail');
    this.list.append(item);
    if (!result.ok) this.failed = true;
    return result.ok;
  }
}

const ok: CheckResult = { ok: true };
const fail = (reason: string): CheckResult => ({ ok: false, reason });

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json, text/plain' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.text();
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const value: unknown = JSON.parse(await fetchText(url));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`GET ${url} did not answer a JSON object`);
  return value as Record<string, unknown>;
}

function hashList(value: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const hashes = value.map((item) => (typeof item === 'string' ? hexToBytes(item) : undefined));
  return hashes.every((h): h is Uint8Array => h?.length === 32) ? hashes : undefined;
}

/** Step 5: the log must extend (never rewrite) the last checkpoint this browser saw. */
async function checkConsistency(root: IslandElement, checkpoint: PortableCheckpoint, steps: Steps): Promise<void> {
  const title = 'Consistent with the last checkpoint this browser saw';
  const storageKey = `custody.log.seen:${checkpoint.origin}`;
  const seen = parseSeen(localStorage.getItem(storageKey));
  const remember = (): void => {
    localStorage.setItem(storageKey, JSON.stringify({ size: checkpoint.size.toString(), root: bytesToHex(checkpoint.root) }));
  };
  let result: CheckResult;
  let detail = '';
  if (seen === undefined) {
    result = ok;
    detail = `first checkpoint this browser has seen of this log (size ${checkpoint.size}): remembered`;
  } else if (seen.size > checkpoint.size) {
    result = fail(`this browser saw a larger tree (size ${seen.size}) before; the log now says ${checkpoint.size}`);
  } else if (seen.size === 0n) {
    result = ok;
    detail = 'the empty tree is consistent with every tree';
  } else {
    try {
      const proof =
        seen.size === checkpoint.size ? [] : hashList((await fetchJson(`${root.dataset['consistencyUrl'] ?? ''}?from=${seen.size}&to=${checkpoint.size}`))['proof']);
      result =
        proof === undefined
          ? fail('the consistency proof is not a list of 32-byte hex hashes')
          : await verifyConsistencyWith(sha256, { size1: seen.size, root1: seen.root, size2: checkpoint.size, root2: checkpoint.root, proof });
      detail = `size ${seen.size} → ${checkpoint.size}, ${proof?.length ?? 0} proof hashes`;
    } catch (error) {
      result = fail(error instanceof Error ? error.message : String(error));
    }
  }
  if (steps.record(title, result, detail)) {
    remember();
  } else {
    const warning = element('p', 'error', `Warning: this log is not consistent with the checkpoint this browser saw before (size ${seen?.size ?? '?'}). The log may have been rewritten.`);
    warning.setAttribute('role', 'alert');
    steps.notes.append(warning);
  }
}

function parseSeen(stored: string | null): { size: bigint; root: Uint8Array } | undefined {
  if (stored === null) return undefined;
  try {
    const value = JSON.parse(stored) as { size?: unknown; root?: unknown };
    const root = typeof value.root === 'string' ? hexToBytes(value.root) : undefined;
    if (typeof value.size !== 'string' || !/^[0-9]{1,19}$/.test(value.size) || root === undefined) return undefined;
    return { size: BigInt(value.size), root };
  } catch {
    return undefined;
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/octet-stream' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Step 3: entry `index` as the tiles of a tree of `size` entries hold it (C2SP tlog-tiles): the
 * entry bundle's bytes hashed as an RFC 6962 leaf must equal the hash at the same position of the
 * level-0 hash tile and the hash the page lists. Returns the leaf hash when they agree.
 */
async function entryFromTiles(root: IslandElement, index: bigint, size: bigint, listedLeafHash: string, steps: Steps): Promise<Uint8Array | undefined> {
  const title = 'Entry read from the tiles, leaf hash recomputed';
  const tiles = portableEntryTiles(index, size);
  if ('error' in tiles) {
    steps.record(title, fail(tiles.error), '');
    return undefined;
  }
  const base = root.dataset['tilesUrl'] ?? '';
  const [bundle, hashTile] = await Promise.all([fetchBytes(`${base}${tiles.bundle}`), fetchBytes(`${base}${tiles.hashTile}`)]);
  const entries = portableSplitBundle(bundle);
  if ('error' in entries) {
    steps.record(title, fail(`${tiles.bundle}: ${entries.error}`), '');
    return undefined;
  }
  const leaf = entries[tiles.offset];
  if (entries.length !== tiles.width || leaf === undefined || hashTile.length !== tiles.width * 32) {
    steps.record(title, fail(`${tiles.bundle} holds ${entries.length} entries and ${tiles.hashTile} ${hashTile.length / 32} hashes; a tree of size ${size} needs ${tiles.width}`), '');
    return undefined;
  }
  const leafHash = await portableLeafHash(sha256, leaf);
  const leafHex = bytesToHex(leafHash);
  const tileHex = bytesToHex(hashTile.slice(tiles.offset * 32, tiles.offset * 32 + 32));
  const result =
    leafHex !== tileHex
      ? fail(`SHA-256(0x00 ‖ entry ${index} of ${tiles.bundle}) is ${leafHex}, but ${tiles.hashTile} holds ${tileHex}`)
      : leafHex !== listedLeafHash
        ? fail(`the tiles give leaf hash ${leafHex}, but the page lists ${listedLeafHash}`)
        : ok;
  const detail = `${leaf.length} bytes from ${tiles.bundle}; SHA-256(0x00 ‖ entry) = ${leafHex}, the hash at position ${tiles.offset} of ${tiles.hashTile}`;
  return steps.record(title, result, detail) ? leafHash : undefined;
}

async function verifyEntry(root: IslandElement, index: number, listedLeafHash: string, steps: Steps): Promise<void> {
  // 1. The log key: the page's, pinned on first use.
  const vkey = root.dataset['logKey'] ?? '';
  const key = await parseVerifierKeyPortable(subtle, vkey);
  if ('error' in key) {
    steps.record('Log key', fail(key.error), '');
    return;
  }
  const pinKey = `custody.log.pinnedKey:${key.name}`;
  const pinned = localStorage.getItem(pinKey);
  if (pinned === null) localStorage.setItem(pinKey, vkey);
  const keyOk = steps.record(
    'Log key pinned',
    pinned === null || pinned === vkey ? ok : fail(`the page names log key ${vkey}, but this browser pinned ${pinned} on first use`),
    pinned === null ? `${key.name}+${key.keyId}, pinned now (first use in this browser)` : `${key.name}+${key.keyId}, the key this browser pinned on first use`,
  );
  if (!keyOk) return;
  // 2. The checkpoint and its signature.
  const note = await fetchText(root.dataset['checkpointUrl'] ?? '');
  const opened = await verifyCheckpointNote(subtle, note, key);
  const checkpoint = opened.ok ? opened.checkpoint : undefined;
  steps.record('Checkpoint signature (Ed25519, WebCrypto)', opened, checkpoint === undefined ? '' : `signed by ${key.name}; tree size ${checkpoint.size}, root ${bytesToHex(checkpoint.root)}`);
  if (checkpoint === undefined) return;
  // 3. The entry, read from the log's tiles (its entry bundle), hashed here and found in the level-0 hash tile.
  const leafHash = await entryFromTiles(root, BigInt(index), checkpoint.size, listedLeafHash, steps);
  if (leafHash === undefined) return;
  // 4. The inclusion proof, recomputed up to the signed root.
  const proofJson = await fetchJson(`${root.dataset['inclusionUrl'] ?? ''}?index=${index}&size=${checkpoint.size}`);
  const proof = hashList(proofJson['proof']);
  const proofLeaf = typeof proofJson['leafHash'] === 'string' ? hexToBytes(proofJson['leafHash']) : undefined;
  const inclusion =
    proof === undefined
      ? fail('the inclusion proof is not a list of 32-byte hex hashes')
      : proofLeaf === undefined || !bytesEqual(proofLeaf, leafHash)
        ? fail('the proof is for another leaf hash')
        : await verifyInclusionWith(sha256, { leafHash, index, size: checkpoint.size, proof, root: checkpoint.root });
  steps.record('Inclusion proof recomputed to the signed root', inclusion, `${proof?.length ?? 0} node hashes from leaf ${index} to the root of tree size ${checkpoint.size}`);
  // 5. Consistency with what this browser saw before.
  await checkConsistency(root, checkpoint, steps);
}

async function onVerify(root: IslandElement, result: IslandElement, button: IslandElement): Promise<void> {
  const index = Number(button.dataset['verifyIndex']);
  const buttons = [...document.querySelectorAll('button[data-verify-index]')];
  for (const b of buttons) b.disabled = true;
  const steps = new Steps();
  const summary = element('p', '', `Verifying entry ${index}…`);
  result.replaceChildren(element('h3', '', `Entry ${index}`), summary, steps.list, steps.notes);
  try {
    await verifyEntry(root, index, button.dataset['leafHash'] ?? '', steps);
  } catch (error) {
    steps.record('Verification', fail(error instanceof Error ? error.message : String(error)), '');
  }
  const passed = !steps.failed;
  summary.replaceChildren(
    pill(passed, 'Verification'),
    passed ? ` Entry ${index} is in the log, under a checkpoint signed by the pinned key.` : ` Verification of entry ${index} FAILED: do not trust this entry or this log view.`,
  );
  summary.setAttribute('data-verdict', passed ? 'pass' : 'fail');
  for (const b of buttons) b.disabled = false;
}

function start(): void {
  const root = document.querySelector('[data-log-verifier]');
  const status = root?.querySelector('[data-verifier-status]');
  const result = root?.querySelector('[data-verifier-result]');
  if (root === null || root === undefined || status === null || status === undefined || result === null || result === undefined) return;
  status.textContent = 'Choose "Verify" on an entry: this browser checks the checkpoint signature and recomputes the proof itself.';
  for (const button of document.querySelectorAll('button[data-verify-index]')) {
    button.addEventListener('click', () => void onVerify(root, result, button));
    button.disabled = false;
  }
}

start();
