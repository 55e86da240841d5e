/** Verify EchoDepth webhooks (Standard Webhooks signatures) with node:crypto only. */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { WebhookVerificationError } from './errors.js';

/** Seconds a `webhook-timestamp` may differ from now. */
export const DEFAULT_TOLERANCE = 300;

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function key(secret: string): Buffer {
  const raw = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) throw new WebhookVerificationError('the secret is not a whsec_ base64 secret');
  return Buffer.from(raw, 'base64');
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

/** The `v1,<base64>` signature of a message, as the server puts it in `webhook-signature`. */
export function signWebhook(msgId: string, timestamp: number, payload: string | Uint8Array, secret: string): string {
  const body = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  return 'v1,' + createHmac('sha256', key(secret)).update(`${msgId}.${timestamp}.${body}`).digest('base64');
}

/**
 * Check a delivery's signature and timestamp and return the parsed JSON payload (with the server's
 * snake_case keys, exactly as sent).
 *
 * @param payload the raw request body as received (a string or bytes; never re-serialised JSON)
 * @param headers the request headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * @param secret the endpoint's signing secret (`whsec_…`)
 * @throws WebhookVerificationError when a header is missing, the timestamp is outside the tolerance, or no
 *   signature matches (while a rotated secret overlaps, either secret verifies)
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  options: { tolerance?: number; now?: number } = {},
): unknown {
  const msgId = header(headers, 'webhook-id');
  const stamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!msgId || !stamp || !signatures) {
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  }
  const ts = Number(stamp);
  if (!Number.isInteger(ts)) throw new WebhookVerificationError('webhook-timestamp is not an integer');
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - ts) > (options.tolerance ?? DEFAULT_TOLERANCE)) {
    throw new WebhookVerificationError('webhook-timestamp is outside the tolerance (a replay or a wrong clock)');
  }
  const expected = Buffer.from(signWebhook(msgId, ts, payload, secret).slice(3), 'base64');
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
      try {
        return JSON.parse(text);
      } catch {
        throw new WebhookVerificationError('the payload is not JSON');
      }
    }
  }
  throw new WebhookVerificationError('no matching signature');
}
