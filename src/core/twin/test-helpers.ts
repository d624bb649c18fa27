// Helpers for the twin model's tests.
import assert from 'node:assert/strict';
import type { ShadowRejection } from './shadow-error.js';
import { applyUpdate, type ShadowDocument, type UpdateAccepted, type UpdateContext } from './shadow-document.js';

/** Applies an update that must be accepted. */
export function update(current: ShadowDocument | undefined, request: unknown, ctx: Partial<UpdateContext> = {}): UpdateAccepted {
  const r = applyUpdate(current, request, { now: 1000, ...ctx });
  if (!r.ok) assert.fail(`rejected ${r.code} ${r.message}: ${JSON.stringify(request)}`);
  return r;
}

/** Applies an update that must be rejected. */
export function rejectedUpdate(current: ShadowDocument | undefined, request: unknown, ctx: Partial<UpdateContext> = {}): ShadowRejection {
  const r = applyUpdate(current, request, { now: 1000, ...ctx });
  if (r.ok) assert.fail(`accepted: ${JSON.stringify(request)}`);
  return r;
}

/** Freezes a value and everything in it, to prove a function does not mutate its input. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
