/**
 * Events of the transparency log (SPEC §4.4): every state change and every rejection becomes one
 * leaf, the RFC 8785 canonical JSON of the event, at most 64 KiB. Secrets never enter an event:
 * tokens appear by id, attestations by digest.
 */

export const LOG_EVENT_TYPES = [
  'version.registered',
  'version.rejected',
  'attestation.added',
  'attestation.rejected',
  'promotion.decided',
  'version.quarantined',
  'policy.proposed',
  'policy.approved',
  'policy.activated',
  'policy.rejected',
  'key.added',
  'key.revoked',
  'principal.created',
  'principal.disabled',
  'token.created',
  'token.revoked',
  'binding.granted',
  'binding.revoked',
] as const;

export type LogEventType = (typeof LOG_EVENT_TYPES)[number];

/** Who caused an event: a principal, its kind, and how it authenticated (`token`, `bootstrap`, …). */
export interface EventActor {
  readonly principal: string;
  readonly kind: 'user' | 'service' | 'system';
  readonly via: string;
}

/** The common fields of every event; each type adds its own. */
export interface LogEvent {
  readonly v: 1;
  readonly type: LogEventType;
  /** RFC 3339 with milliseconds. */
  readonly time: string;
  readonly actor: EventActor;
  /** The model the event concerns, `namespace/name`, when there is one (audit filters use it). */
  readonly model?: string;
  readonly [field: string]: unknown;
}

/** The registry itself, for events no principal caused (first-start bootstrap). */
export const SYSTEM_ACTOR: EventActor = { principal: 'custody', kind: 'system', via: 'bootstrap' };

/** Largest leaf the log accepts (the tlog-tiles entry bundle length prefix is 16 bits). */
export const MAX_LEAF_BYTES = 65_535;
