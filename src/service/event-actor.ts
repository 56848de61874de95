/** How an authenticated actor appears in log events (SPEC §4.4 `actor`): names only, no secrets. */
import type { EventActor } from '../domain/log-event.js';
import type { Actor } from './auth-service.js';

export function eventActor(actor: Actor): EventActor {
  return { principal: actor.principal.name, kind: actor.principal.kind, via: actor.via };
}
