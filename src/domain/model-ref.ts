/**
 * Model names and references (SPEC §2): `ns/name`, `ns/name@v3`, `ns/name@sha256:<hex>` and
 * `ns/name@<environment>`. The namespace defaults to `default` when omitted.
 */
import { CustodyError } from './errors.js';
import { parseDigest, type Digest } from './digest.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const DEFAULT_NAMESPACE = 'default';

export interface ModelName {
  readonly namespace: string;
  readonly name: string;
}

export type VersionSelector =
  | { readonly kind: 'number'; readonly number: number }
  | { readonly kind: 'digest'; readonly digest: Digest }
  | { readonly kind: 'environment'; readonly environment: string };

export interface ModelRef extends ModelName {
  readonly selector: VersionSelector;
}

export function isValidName(value: string): boolean {
  return NAME.test(value);
}

/** Validates one namespace or model name segment; throws INVALID_REFERENCE. */
export function assertName(value: string, what: 'namespace' | 'model name'): string {
  if (!isValidName(value)) {
    throw new CustodyError('INVALID_REFERENCE', `${what} must match [a-z0-9][a-z0-9._-]{0,127}`, {
      details: { [what === 'namespace' ? 'namespace' : 'name']: value.slice(0, 140) },
    });
  }
  return value;
}

/** Parses `ns/name` or `name` (namespace `default`). */
export function parseModelName(text: string): ModelName {
  const parts = text.split('/');
  if (parts.length === 1) return { namespace: DEFAULT_NAMESPACE, name: assertName(parts[0] ?? '', 'model name') };
  if (parts.length === 2) {
    return { namespace: assertName(parts[0] ?? '', 'namespace'), name: assertName(parts[1] ?? '', 'model name') };
  }
  throw new CustodyError('INVALID_REFERENCE', 'a model is named NAMESPACE/NAME', { details: { model: text.slice(0, 300) } });
}

/** Parses the part after `@`: `v3`, `sha256:<hex>` or an environment name. */
export function parseSelector(text: string): VersionSelector {
  if (/^v[0-9]+$/.test(text)) {
    const number = Number(text.slice(1));
    if (!Number.isSafeInteger(number) || number < 1) {
      throw new CustodyError('INVALID_REFERENCE', 'version numbers start at v1', { details: { selector: text.slice(0, 40) } });
    }
    return { kind: 'number', number };
  }
  if (text.startsWith('sha256:')) {
    parseDigest(text);
    return { kind: 'digest', digest: text as Digest };
  }
  if (isValidName(text)) return { kind: 'environment', environment: text };
  throw new CustodyError('INVALID_REFERENCE', 'a version is selected by vN, sha256:<hex> or an environment name', {
    details: { selector: text.slice(0, 80) },
  });
}

/** Parses a full reference `ns/name@selector`. */
export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf('@');
  if (at < 0) {
    throw new CustodyError('INVALID_REFERENCE', 'a reference is NS/NAME@vN, NS/NAME@sha256:<hex> or NS/NAME@<environment>', {
      details: { ref: text.slice(0, 300) },
    });
  }
  return { ...parseModelName(text.slice(0, at)), selector: parseSelector(text.slice(at + 1)) };
}

export function formatSelector(selector: VersionSelector): string {
  switch (selector.kind) {
    case 'number':
      return `v${selector.number}`;
    case 'digest':
      return selector.digest;
    case 'environment':
      return selector.environment;
  }
}

export function formatModelName(model: ModelName): string {
  return `${model.namespace}/${model.name}`;
}
