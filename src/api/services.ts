/** What route handlers may use: the services, built once by the composition root. */
import type { Config } from '../config/config.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuthService } from '../service/auth-service.js';
import type { IdentityService } from '../service/identity-service.js';
import type { TokenService } from '../service/token-service.js';
import type { BlobService } from '../service/blob-service.js';
import type { RegistryService } from '../service/registry-service.js';
import type { KeyService } from '../service/key-service.js';
import type { AttestationService } from '../service/attestation-service.js';
import type { LineageService } from '../service/lineage-service.js';
import type { PolicyService } from '../service/policy-service.js';
import type { PromotionService } from '../service/promotion-service.js';
import type { VsaKey } from '../promotion/vsa-key.js';
import type { TransparencyLog } from '../service/transparency-log.js';
import type { SessionService } from '../service/session-service.js';

export interface Services {
  readonly config: Config;
  readonly auth: AuthService;
  readonly identity: IdentityService;
  readonly tokens: TokenService;
  readonly blobs: BlobService;
  readonly registry: RegistryService;
  readonly keys: KeyService;
  readonly attestations: AttestationService;
  readonly lineage: LineageService;
  readonly policies: PolicyService;
  readonly promotions: PromotionService;
  /** Web UI sessions (issue 8): only the UI reads cookies; the API never does. */
  readonly sessions: SessionService;
  /** The registry's VSA key (only its public half is ever served). */
  readonly vsaKey: VsaKey;
  readonly log: TransparencyLog;
  readonly metrics: Metrics;
  /** Throws when a backend is not reachable (for /readyz). */
  readonly checkReady: () => Promise<void>;
  readonly isShuttingDown: () => boolean;
}
