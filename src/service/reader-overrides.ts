/**
 * Read-only "what if" views of the metadata store: a `MetadataReader` that answers exactly as the
 * store does except for one record — a key seen as revoked (the revocation preview on the keys
 * page), a proposed policy seen as active (the policy page's "what would change"). Evaluations
 * run through them with the same code as real decisions, and nothing is written.
 */
import type { MetadataReader, PolicyRecord, SignerKeyRecord } from '../store/metadata-store.js';

/** `store` with the methods in `overrides` replaced; every other method is the store's own. */
function overriding(store: MetadataReader, overrides: Partial<MetadataReader>): MetadataReader {
  return new Proxy(store, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property as keyof MetadataReader];
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `store` as a reader that sees `key` (by name and key id) as the given record: nothing else differs. */
export function withKeyRevoked(store: MetadataReader, key: SignerKeyRecord): MetadataReader {
  return overriding(store, {
    getSignerKey: (name) => (name === key.name ? Promise.resolve(key) : store.getSignerKey(name)),
    findSignerKeyByHint: async (hint) => {
      const found = await store.findSignerKeyByHint(hint);
      return found?.name === key.name ? key : found;
    },
    listSignerKeys: async () => (await store.listSignerKeys()).map((k) => (k.name === key.name ? key : k)),
  });
}

/** `store` as a reader whose active policy of `proposal.environment` is `proposal`: nothing else differs. */
export function withPolicyActive(store: MetadataReader, proposal: PolicyRecord): MetadataReader {
  return overriding(store, {
    getActivePolicy: (environment) => (environment === proposal.environment ? Promise.resolve({ ...proposal, status: 'active' }) : store.getActivePolicy(environment)),
  });
}
