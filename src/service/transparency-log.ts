/**
 * The transparency log (SPEC §5) over the metadata store: appends events inside the caller's
 * transaction (so a state change and its event commit together or not at all), signs a new
 * checkpoint for each write batch in that same transaction, and answers the read side — entries,
 * tiles, inclusion and consistency proofs — from stored subtree hashes.
 */
import { canonicalJson } from '../crypto/canonical-json.js';
import { CustodyError } from '../domain/errors.js';
import { MAX_LEAF_BYTES, type LogEvent } from '../domain/log-event.js';
import { formatCheckpoint } from '../log/checkpoint.js';
import type { LogKey } from '../log/log-key.js';
import { hashLeaf } from '../log/merkle.js';
import { signNote } from '../log/signed-note.js';
import { parseTilePath } from '../log/tile-path.js';
import { appendStoredHashes, consistencyProof, inclusionProof, treeRoot, type StoredHashReader } from '../log/stored-hashes.js';
import { encodeEntryBundle, tileHashes, tileWidthAt, TILE_WIDTH } from '../log/tiles.js';
import type { CheckpointRecord, LogEntryRecord, LogQuery, MetadataReader, MetadataStore, MetadataTx } from '../store/metadata-store.js';

/** What every write returns: where its event sits in the log and how to check it (SPEC §2). */
export interface Receipt {
  readonly logIndex: number;
  /** Hex RFC 6962 leaf hash of the event. */
  readonly leafHash: string;
  readonly treeSize: number;
  /** Hex hashes, leaf end first. */
  readonly inclusionProof: readonly string[];
  /** The signed checkpoint (C2SP signed note) of `treeSize` that the proof verifies against. */
  readonly checkpoint: string;
}

/** Where a batch landed: its first index, the new size, its leaf hashes and the new checkpoint. */
export interface AppendedBatch {
  readonly start: number;
  readonly size: number;
  readonly leafHashes: readonly Buffer[];
  readonly checkpoint: string;
}

export class TransparencyLog {
  constructor(
    private readonly store: MetadataStore,
    private readonly key: LogKey,
  ) {}

  get origin(): string {
    return this.key.name;
  }

  get verifierKey(): string {
    return this.key.verifierKey;
  }

  /**
   * Appends `events` in the caller's transaction under the log-head lock, stores the new subtree
   * hashes and a signed checkpoint, and returns one receipt per event.
   */
  async append(tx: MetadataTx, events: readonly LogEvent[]): Promise<Receipt[]> {
    if (events.length === 0) return [];
    const { start, size, leafHashes, checkpoint } = await this.appendBatch(tx, events);
    const read: StoredHashReader = (ids) => tx.readLogHashes(ids);
    const cached = await this.prefetchProofHashes(start, events.length, size, read);
    const receipts: Receipt[] = [];
    for (let i = 0; i < events.length; i++) {
      const proof = await inclusionProof(start + i, size, cached);
      receipts.push({
        logIndex: start + i,
        leafHash: (leafHashes[i] ?? Buffer.alloc(0)).toString('hex'),
        treeSize: size,
        inclusionProof: proof.map((h) => h.toString('hex')),
        checkpoint,
      });
    }
    return receipts;
  }

  /**
   * The store half of `append`, without receipts: leaves, leaf hashes, the new subtree hashes,
   * the head and a signed checkpoint, in the caller's transaction. Bulk loads (the log
   * benchmark) use it directly; everything else goes through `append`.
   */
  async appendBatch(tx: MetadataTx, events: readonly LogEvent[]): Promise<AppendedBatch> {
    const leaves = events.map((event) => {
      const leaf = canonicalJson(event);
      if (Buffer.byteLength(leaf, 'utf8') > MAX_LEAF_BYTES) {
        throw new CustodyError('INTERNAL', `a ${event.type} event exceeds ${MAX_LEAF_BYTES} bytes`);
      }
      return leaf;
    });
    const leafHashes = leaves.map((leaf) => hashLeaf(Buffer.from(leaf, 'utf8')));
    const start = await tx.lockLogHead();
    const read: StoredHashReader = (ids) => tx.readLogHashes(ids);
    const hashes = await appendStoredHashes(start, leafHashes, read);
    await tx.insertLogEntries(
      start,
      events.map((event, i) => {
        const [namespace, name] = splitModel(event.model);
        return { leaf: leaves[i] ?? '', leafHash: (leafHashes[i] ?? Buffer.alloc(0)).toString('hex'), type: event.type, time: event.time, namespace, name };
      }),
    );
    await tx.insertLogHashes(hashes.map((h) => ({ id: h.id, hash: h.hash })));
    const size = start + events.length;
    await tx.setLogHead(size);
    const checkpoint = await this.signCheckpoint(size, read);
    await tx.insertCheckpoint({ size, note: checkpoint, createdAt: events[events.length - 1]?.time ?? new Date().toISOString() });
    return { start, size, leafHashes, checkpoint };
  }

  /**
   * Which stored hashes the receipts of a batch need depends only on the tree's shape, not on
   * hash values: plan every proof against a placeholder reader, fetch all ids in one read, then
   * serve the real proofs from memory (one query per batch instead of one per event).
   */
  private async prefetchProofHashes(start: number, count: number, size: number, read: StoredHashReader): Promise<StoredHashReader> {
    const wanted = new Set<number>();
    const placeholder = Buffer.alloc(32);
    const planner: StoredHashReader = (ids) => {
      for (const id of ids) wanted.add(id);
      return Promise.resolve(ids.map(() => placeholder));
    };
    for (let i = 0; i < count; i++) await inclusionProof(start + i, size, planner);
    const ids = [...wanted];
    const hashes = ids.length === 0 ? [] : await read(ids);
    const byId = new Map(ids.map((id, k) => [id, hashes[k]]));
    return (requested) =>
      Promise.resolve(
        requested.map((id) => {
          const hash = byId.get(id);
          if (hash === undefined) throw new CustodyError('INTERNAL', `stored hash ${id} was not prefetched`);
          return hash;
        }),
      );
  }

  /** Appends events in a transaction of their own (rejections, whose change did not happen). */
  async appendAlone(events: readonly LogEvent[]): Promise<Receipt[]> {
    return this.store.transaction((tx) => this.append(tx, events));
  }

  /**
   * The newest signed checkpoint. On an empty log one is signed and stored on first call, so
   * clients always have something to pin.
   */
  async latestCheckpoint(): Promise<CheckpointRecord> {
    const latest = await this.store.getLatestCheckpoint();
    if (latest !== undefined) return latest;
    return this.store.transaction(async (tx) => {
      const size = await tx.lockLogHead();
      const note = await this.signCheckpoint(size, (ids) => tx.readLogHashes(ids));
      const record = { size, note, createdAt: new Date().toISOString() };
      await tx.insertCheckpoint(record);
      return record;
    });
  }

  async entry(index: number): Promise<LogEntryRecord> {
    const [entry] = await this.store.getLogEntries(index, index + 1);
    if (entry === undefined) throw new CustodyError('NOT_FOUND', `no log entry ${index}`);
    return entry;
  }

  /**
   * Index of the `version.registered` event of a version, found by model and digest (newest
   * first, paging back through the model's registrations).
   */
  async findRegistration(namespace: string, name: string, digest: string): Promise<number | null> {
    let beforeIndex: number | undefined;
    for (;;) {
      const page = await this.store.queryLogEntries({
        types: ['version.registered'],
        namespace,
        name,
        limit: 1000,
        ...(beforeIndex === undefined ? {} : { beforeIndex }),
      });
      for (const entry of page) {
        const event = JSON.parse(entry.leaf) as { digest?: unknown };
        if (event.digest === digest) return entry.index;
      }
      const last = page[page.length - 1];
      if (page.length < 1000 || last === undefined) return null;
      beforeIndex = last.index;
    }
  }

  /** Entries matching the filters, newest first (the audit feed). */
  query(query: LogQuery): Promise<readonly LogEntryRecord[]> {
    return this.store.queryLogEntries(query);
  }

  /** Indexes of the entries with this leaf hash (hex), ascending. */
  findByLeafHash(leafHash: string): Promise<readonly number[]> {
    return this.store.findLogIndexesByLeafHash(leafHash);
  }

  /** Inclusion proof of entry `index` in the tree of `size` (default: the latest checkpoint). */
  async proveInclusion(index: number, size?: number): Promise<{ index: number; treeSize: number; leafHash: string; proof: string[]; checkpoint: string | null }> {
    const { treeSize, checkpoint } = await this.resolveSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
      throw new CustodyError('NOT_FOUND', `entry ${index} is not in a tree of size ${treeSize}`);
    }
    const entry = await this.entry(index);
    const proof = await inclusionProof(index, treeSize, this.reader(this.store));
    return { index, treeSize, leafHash: entry.leafHash, proof: proof.map((h) => h.toString('hex')), checkpoint };
  }

  /** Consistency proof between two tree sizes (`to` defaults to the latest checkpoint). */
  async proveConsistency(from: number, to?: number): Promise<{ from: number; to: number; proof: string[]; checkpoint: string | null }> {
    const { treeSize, checkpoint } = await this.resolveSize(to);
    if (!Number.isSafeInteger(from) || from < 1 || from > treeSize) {
      throw new CustodyError('VALIDATION_FAILED', `a consistency proof needs 1 <= from <= to (${treeSize})`);
    }
    const proof = await consistencyProof(from, treeSize, this.reader(this.store));
    return { from, to: treeSize, proof: proof.map((h) => h.toString('hex')), checkpoint };
  }

  /** Bytes of hash tile (`level`, `index`) of `width` hashes, if the log is that large. */
  async tile(level: number, index: number, width: number): Promise<Buffer> {
    const { size } = await this.latestCheckpoint();
    if (tileWidthAt(level, index, size) < width) throw new CustodyError('NOT_FOUND', 'no such tile yet');
    return tileHashes(level, index, width, this.reader(this.store));
  }

  /** Entry bundle `index` of `width` entries (C2SP tlog-tiles), if the log is that large. */
  async entryBundle(index: number, width: number): Promise<Buffer> {
    const { size } = await this.latestCheckpoint();
    if (tileWidthAt(0, index, size) < width) throw new CustodyError('NOT_FOUND', 'no such entry bundle yet');
    const entries = await this.store.getLogEntries(index * TILE_WIDTH, index * TILE_WIDTH + width);
    return encodeEntryBundle(entries.map((e) => Buffer.from(e.leaf, 'utf8')));
  }

  /** The bytes at a tlog-tiles read path (`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`); anything else, or a tile not there yet, is NOT_FOUND. */
  async readTile(path: string): Promise<Buffer> {
    let tile;
    try {
      tile = parseTilePath(path);
    } catch {
      throw new CustodyError('NOT_FOUND', 'not a tile path');
    }
    if (tile.index > BigInt(Number.MAX_SAFE_INTEGER)) throw new CustodyError('NOT_FOUND', 'no such tile');
    return tile.kind === 'hashes' ? this.tile(tile.level, Number(tile.index), tile.width) : this.entryBundle(Number(tile.index), tile.width);
  }

  private async resolveSize(size: number | undefined): Promise<{ treeSize: number; checkpoint: string | null }> {
    const latest = await this.latestCheckpoint();
    if (size === undefined || size === latest.size) return { treeSize: latest.size, checkpoint: latest.note };
    if (!Number.isSafeInteger(size) || size < 1 || size > latest.size) {
      throw new CustodyError('NOT_FOUND', `the log has no tree of size ${size} (latest ${latest.size})`);
    }
    const stored = await this.store.getCheckpoint(size);
    return { treeSize: size, checkpoint: stored?.note ?? null };
  }

  private reader(source: MetadataReader): StoredHashReader {
    return (ids) => source.readLogHashes(ids);
  }

  private async signCheckpoint(size: number, read: StoredHashReader): Promise<string> {
    const root = await treeRoot(size, read);
    return signNote(formatCheckpoint({ origin: this.key.name, size, rootHash: root }), { name: this.key.name, privateKey: this.key.privateKey });
  }
}

/** `namespace/name` of an event's `model` field as the log's index columns store it. */
export function splitModel(model: string | undefined): [string | null, string | null] {
  if (model === undefined) return [null, null];
  const slash = model.indexOf('/');
  return slash < 0 ? [null, null] : [model.slice(0, slash), model.slice(slash + 1)];
}
