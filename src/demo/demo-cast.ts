/**
 * The people, services and keys of the seed's scenario (issue 6 §9), created through the SDK
 * exactly as an operator would: principals with their roles and API tokens, and the four signer
 * keys (training cluster, security scanner, sandbox, red team) generated fresh for this run.
 * Private keys live only in this process's memory.
 */
import { createAttestation } from '../crypto/attestation.js';
import { generateSigningKey, parsePrivateKey, type PrivateKeyInfo } from '../crypto/signing-keys.js';
import { CustodyClient } from '../sdk/custody-client.js';

export const NAMESPACE = 'fraud';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
export const VULNS = 'https://in-toto.io/attestation/vulns/v0.2';
export const TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
export const RED_TEAM = 'https://custody.dev/attestation/red-team/v1';

export interface Signer {
  readonly name: string;
  readonly predicateType: string;
  readonly privateKey: PrivateKeyInfo;
  readonly publicKeyPem: string;
}

/** Who acts in the scenario, each with its own client (token). */
export interface Cast {
  readonly admin: CustodyClient;
  readonly dataScientist: CustodyClient;
  readonly scanner: CustodyClient;
  readonly sandbox: CustodyClient;
  readonly redTeam: CustodyClient;
  /** The CI release pipeline: a `service` with promoter for staging and production. */
  readonly release: CustodyClient;
  /** A human with the same promoter binding: the seed's rule keeps production from them. */
  readonly releaseManager: CustodyClient;
  readonly policyAdmin: CustodyClient;
  readonly secondPolicyAdmin: CustodyClient;
  readonly deployer: CustodyClient;
  readonly signers: Readonly<Record<'training' | 'scanner' | 'sandbox' | 'redTeam', Signer>>;
  close(): void;
}

interface Member {
  readonly name: string;
  readonly kind: 'user' | 'service';
  readonly role: string;
  readonly namespaces?: readonly string[];
  readonly environments?: readonly string[];
}

const MEMBERS: Readonly<Record<Exclude<keyof Cast, 'admin' | 'signers' | 'close'>, Member>> = {
  dataScientist: { name: 'dana', kind: 'user', role: 'data-scientist', namespaces: [NAMESPACE] },
  scanner: { name: 'security-scanner', kind: 'service', role: 'attester', namespaces: [NAMESPACE] },
  sandbox: { name: 'sandbox', kind: 'service', role: 'attester', namespaces: [NAMESPACE] },
  redTeam: { name: 'red-team', kind: 'service', role: 'attester', namespaces: [NAMESPACE] },
  release: { name: 'ci-release', kind: 'service', role: 'promoter', namespaces: [NAMESPACE], environments: ['staging', 'production'] },
  releaseManager: { name: 'rick', kind: 'user', role: 'promoter', namespaces: [NAMESPACE], environments: ['staging', 'production'] },
  policyAdmin: { name: 'pat', kind: 'user', role: 'policy-admin' },
  secondPolicyAdmin: { name: 'quinn', kind: 'user', role: 'policy-admin' },
  deployer: { name: 'deployer', kind: 'service', role: 'viewer', namespaces: [NAMESPACE] },
};

function signer(name: string, predicateType: string): Signer {
  const key = generateSigningKey('ed25519');
  return { name, predicateType, privateKey: parsePrivateKey(key.privateKeyPem), publicKeyPem: key.publicKeyPem };
}

/** A signed attestation bundle about `digest` (`sha256:<hex>`) by `by`. */
export function attest(by: Signer, model: string, digest: string, predicate: Record<string, unknown>): string {
  return createAttestation({
    subjects: [{ name: model, digest: { sha256: digest.replace(/^sha256:/, '') } }],
    predicateType: by.predicateType,
    predicate,
    privateKey: by.privateKey,
  }).bundleJson;
}

/** Creates every principal, binding, token and signer key of the scenario; `say` narrates. */
export async function assembleCast(server: string, adminToken: string, say: (line: string) => void): Promise<Cast> {
  const admin = new CustodyClient({ server, token: adminToken });
  const clients: CustodyClient[] = [admin];
  const built: Partial<Record<keyof typeof MEMBERS, CustodyClient>> = {};
  for (const [role, member] of Object.entries(MEMBERS) as [keyof typeof MEMBERS, Member][]) {
    await admin.identity.createPrincipal({ name: member.name, kind: member.kind });
    await admin.identity.grantRole({
      principal: member.name,
      role: member.role,
      ...(member.namespaces === undefined ? {} : { namespaces: member.namespaces }),
      ...(member.environments === undefined ? {} : { environments: member.environments }),
    });
    const { token } = await admin.identity.createToken({ principal: member.name, name: 'demo', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const client = new CustodyClient({ server, token });
    clients.push(client);
    built[role] = client;
    const scope = [member.namespaces?.join(',') ?? 'every namespace', member.environments === undefined ? '' : ` → ${member.environments.join(', ')}`].join('');
    say(`${member.name} (${member.kind}): ${member.role} in ${scope}`);
  }
  const signers = {
    training: signer('training-cluster', SLSA_PROVENANCE),
    scanner: signer('security-scanner', VULNS),
    sandbox: signer('sandbox', TEST_RESULT),
    redTeam: signer('red-team', RED_TEAM),
  };
  for (const s of Object.values(signers)) {
    const key = await admin.addKey({ name: s.name, publicKeyPem: s.publicKeyPem, predicateTypes: [s.predicateType], namespaces: [NAMESPACE] });
    say(`key ${key.name} may sign ${s.predicateType} for ${NAMESPACE} (key id ${key.keyId.slice(0, 16)}…)`);
  }
  const get = (role: keyof typeof MEMBERS): CustodyClient => {
    const client = built[role];
    if (client === undefined) throw new Error(`demo cast: ${role} was not created`);
    return client;
  };
  return {
    admin,
    dataScientist: get('dataScientist'),
    scanner: get('scanner'),
    sandbox: get('sandbox'),
    redTeam: get('redTeam'),
    release: get('release'),
    releaseManager: get('releaseManager'),
    policyAdmin: get('policyAdmin'),
    secondPolicyAdmin: get('secondPolicyAdmin'),
    deployer: get('deployer'),
    signers,
    close: () => {
      for (const c of clients) c.close();
    },
  };
}
