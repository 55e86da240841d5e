/**
 * `@echodepth/sdk`: the Node.js client of the EchoDepth emotion-analysis API.
 *
 * ```js
 * import EchoDepth from '@echodepth/sdk';
 * const client = new EchoDepth({ apiKey: 'YOUR_KEY' });
 * const result = await client.analyse.video({ url: 'https://...' });
 * console.log(result.trustScore); // 0-100
 * ```
 */
import { EchoDepth } from './client.js';

export default EchoDepth;
export {
  EchoDepth,
  Analyse,
  Job,
  Jobs,
  Results,
  Stream,
  VERSION,
  Webhooks,
  parseRetryAfter,
  type ClientOptions,
  type CommonOptions,
  type FileInput,
  type ImageOptions,
  type MediaOptions,
  type MultimodalOptions,
  type TextOptions,
  type WaitOptions,
} from './client.js';
export * from './errors.js';
export * from './types.js';
export { camelize } from './case.js';
export { VideoStream, wsURL, type VideoStreamOptions } from './stream.js';
export { verifyWebhook, signWebhook, DEFAULT_TOLERANCE, type WebhookHeaders } from './webhooks.js';
