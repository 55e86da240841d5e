import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

import { camelize } from './case.js';
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  AuthenticationError,
  EchoDepthError,
  InvalidInputError,
  JobFailedError,
  NotFoundError,
  RateLimitError,
  WaitTimeoutError,
} from './errors.js';
import { VideoStream, type VideoStreamOptions } from './stream.js';
import type {
  EventType,
  JobAccepted,
  JobStatus,
  JobSummary,
  ReplayAccepted,
  Result,
  SecretRotated,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointCreated,
} from './types.js';

export const VERSION = '0.1.0';
const DEFAULT_BASE_URL = 'http://127.0.0.1:8000';
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const INPUT_STATUSES = new Set([400, 409, 413, 415, 422]);
const MAX_RETRY_AFTER_S = 120;

export interface ClientOptions {
  /** An API key (`edk_…`); defaults to `ECHODEPTH_API_KEY`. */
  apiKey?: string;
  /** The API's address; defaults to `ECHODEPTH_BASE_URL`, then `http://127.0.0.1:8000`. */
  baseURL?: string;
  /** Milliseconds for one HTTP request (default 60 000). */
  timeout?: number;
  /** Retries after a connection error, 429, 502, 503 or 504 (default 3); Retry-After is honoured. */
  maxRetries?: number;
  /** How long analyse calls wait for their job by default, in ms (default 900 000). */
  waitTimeout?: number;
}

/**
 * A file to upload: a path (string or file: URL), a Blob/File, a Buffer/Uint8Array, or
 * `{ data, filename }` to name in-memory bytes.
 */
export type FileInput = string | URL | Blob | Uint8Array | { data: Blob | Uint8Array; filename: string };

interface Spec {
  method: string;
  path: string;
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  parts?: Array<[string, FileInput]>;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** May this call be repeated after an ambiguous failure (5xx, a broken connection)? */
  retrySafe: boolean;
}

export interface WaitOptions {
  /** Wait for the job and resolve to its Result (default true); false resolves to a {@link Job}. */
  wait?: boolean;
  /** Wait at most this long (ms) for the job (default: the client's waitTimeout). */
  timeout?: number;
  /** Sent as `Idempotency-Key` (default: a fresh UUID per call). */
  idempotencyKey?: string;
}

export interface CommonOptions extends WaitOptions {
  /** Echoed back in the result. */
  metadata?: Record<string, unknown>;
  /** Signed POST of the result when the job ends (signed with the job-signing secret). */
  webhookUrl?: string;
}

export interface MediaOptions extends CommonOptions {
  /** An http(s) URL of the media. */
  url?: string;
  /** The media to upload. */
  file?: FileInput;
}

export interface ImageOptions extends CommonOptions {
  /** One image URL or several. */
  url?: string | string[];
  /** One image to upload or several. */
  file?: FileInput | FileInput[];
}

export interface TextOptions extends CommonOptions {
  text: string;
}

export interface MultimodalOptions extends CommonOptions {
  video?: FileInput;
  audio?: FileInput;
  images?: FileInput[];
  text?: string;
  videoUrl?: string;
  audioUrl?: string;
  imageUrls?: string[];
}

type NoWait = { wait: false };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

function backoffMs(attempt: number, retryAfter: number | null): number {
  if (retryAfter !== null) return Math.min(retryAfter, MAX_RETRY_AFTER_S) * 1000;
  return Math.min(8000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

function headersObject(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

async function errorFrom(response: Response): Promise<APIError> {
  const status = response.status;
  let body: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = await response.json();
    body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    body = null;
  }
  const code = String(body?.code ?? `http_${status}`);
  const message = String(body?.detail ?? response.statusText ?? '');
  const headers = headersObject(response.headers);
  if (status === 401) return new AuthenticationError(code, status, message, body, headers);
  if (status === 404) return new NotFoundError(code, status, message, body, headers);
  if (status === 429) {
    return new RateLimitError(code, status, message, body, headers, parseRetryAfter(response.headers.get('retry-after')));
  }
  if (INPUT_STATUSES.has(status)) return new InvalidInputError(code, status, message, body, headers);
  return new APIError(code, status, message, body, headers);
}

/** Did the connection fail before the request reached the server (always safe to retry)? */
function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'].includes(cause?.code ?? '');
}

async function toBlob(input: FileInput): Promise<[Blob, string]> {
  if (typeof input === 'string' || input instanceof URL) {
    const path = input instanceof URL ? fileURLToPath(input) : input;
    return [await openAsBlob(path), basename(path)];
  }
  if (input instanceof Blob) return [input, (input as { name?: string }).name || 'upload'];
  if (input instanceof Uint8Array) return [new Blob([new Uint8Array(input)]), 'upload'];
  const data = input.data instanceof Blob ? input.data : new Blob([new Uint8Array(input.data)]);
  return [data, input.filename];
}

/** A submitted analysis (`wait: false`): `await job.result()` waits for it. */
export class Job {
  readonly jobId: string;
  status: JobStatus;
  readonly #client: EchoDepth;

  constructor(client: EchoDepth, jobId: string, status: JobStatus = 'queued') {
    this.#client = client;
    this.jobId = jobId;
    this.status = status;
  }

  /** The job as it is now (its status may still be queued or processing). */
  async refresh(): Promise<Result> {
    const result = await this.#client.results.get(this.jobId);
    this.status = result.status;
    return result;
  }

  /**
   * Wait until the job ends and resolve to its Result: polls with backoff (250 ms growing to 2 s).
   * Rejects with {@link JobFailedError} when the job failed and {@link WaitTimeoutError} after `timeout` ms.
   */
  async result(options: { timeout?: number } = {}): Promise<Result> {
    const limit = options.timeout ?? this.#client.waitTimeout;
    const deadline = Date.now() + limit;
    let interval = 250;
    for (;;) {
      const result = await this.refresh();
      if (result.status === 'failed') {
        throw new JobFailedError(result.error?.code ?? 'failed', result.error?.message ?? '', result);
      }
      if (result.status === 'completed') return result;
      if (Date.now() + interval > deadline) throw new WaitTimeoutError(this.jobId, limit);
      await sleep(interval);
      interval = Math.min(2000, interval * 1.5);
    }
  }

  /** Erase the job, its input and its result. */
  async delete(): Promise<void> {
    await this.#client.results.delete(this.jobId);
  }
}

function common(spec: Spec, o: CommonOptions): Spec {
  spec.headers = { ...spec.headers, 'Idempotency-Key': o.idempotencyKey ?? randomUUID() };
  if (spec.parts?.length) {
    spec.form = { ...spec.form };
    if (o.metadata) spec.form.metadata = JSON.stringify(o.metadata);
    if (o.webhookUrl) spec.form.webhook_url = o.webhookUrl;
  } else {
    const body = spec.json as Record<string, unknown>;
    if (o.metadata) body.metadata = o.metadata;
    if (o.webhookUrl) body.webhook_url = o.webhookUrl;
  }
  return spec;
}

function mediaSpec(kind: 'audio' | 'video' | 'image', url: string | string[] | undefined, file: FileInput | FileInput[] | undefined, o: CommonOptions): Spec {
  const urls = url === undefined ? [] : Array.isArray(url) ? url : [url];
  const files = file === undefined ? [] : Array.isArray(file) ? file : [file];
  if ((urls.length > 0) === (files.length > 0)) throw new TypeError('give exactly one of url or file');
  const spec: Spec = { method: 'POST', path: `/v1/analyse/${kind}`, retrySafe: true };
  if (files.length) spec.parts = files.map((f) => ['file', f] as [string, FileInput]);
  else if (kind === 'image' && urls.length > 1) spec.json = { urls };
  else spec.json = { url: urls[0] };
  return common(spec, o);
}

/** `client.analyse`: each call sends an Idempotency-Key, waits for the job and resolves to its Result
 * (or, with `wait: false`, to a {@link Job} at once). */
export class Analyse {
  readonly #client: EchoDepth;

  constructor(client: EchoDepth) {
    this.#client = client;
  }

  async #submit(spec: Spec, o: WaitOptions): Promise<Result | Job> {
    const accepted = await this.#client.requestJson<JobAccepted>(spec);
    const job = new Job(this.#client, accepted.jobId, accepted.status);
    return o.wait === false ? job : job.result({ timeout: o.timeout });
  }

  /** Facial AUs, voice, transcript and per-second fused V/A/D of a video `url` or `file`. */
  video(options: MediaOptions & NoWait): Promise<Job>;
  video(options: MediaOptions): Promise<Result>;
  video(options: MediaOptions): Promise<Result | Job> {
    return this.#submit(mediaSpec('video', options.url, options.file, options), options);
  }

  /** Pitch, pace, pauses, filled pauses, transcript, speakers and vocal V/A/D of an audio `url` or `file`. */
  audio(options: MediaOptions & NoWait): Promise<Job>;
  audio(options: MediaOptions): Promise<Result>;
  audio(options: MediaOptions): Promise<Result | Job> {
    return this.#submit(mediaSpec('audio', options.url, options.file, options), options);
  }

  /** AU map, expressions and still-frame V/A/D of one or more images (URLs or files). */
  image(options: ImageOptions & NoWait): Promise<Job>;
  image(options: ImageOptions): Promise<Result>;
  image(options: ImageOptions): Promise<Result | Job> {
    return this.#submit(mediaSpec('image', options.url, options.file, options), options);
  }

  /** Per-sentence emotions, V/A/D, credibility, hedges and certainty markers of a text. */
  text(options: TextOptions & NoWait): Promise<Job>;
  text(options: TextOptions): Promise<Result>;
  text(options: TextOptions): Promise<Result | Job> {
    const spec = common({ method: 'POST', path: '/v1/analyse/text', json: { text: options.text }, retrySafe: true }, options);
    return this.#submit(spec, options);
  }

  /** One fused result from any mix: uploads (`video`, `audio`, `images`) or URLs (`videoUrl`, `audioUrl`,
   * `imageUrls`), not both; `text` with either. */
  multimodal(options: MultimodalOptions & NoWait): Promise<Job>;
  multimodal(options: MultimodalOptions): Promise<Result>;
  multimodal(o: MultimodalOptions): Promise<Result | Job> {
    const parts: Array<[string, FileInput]> = [];
    if (o.video !== undefined) parts.push(['video', o.video]);
    if (o.audio !== undefined) parts.push(['audio', o.audio]);
    for (const img of o.images ?? []) parts.push(['image', img]);
    const hasUrls = Boolean(o.videoUrl || o.audioUrl || o.imageUrls?.length);
    if (parts.length && hasUrls) throw new TypeError('multimodal takes uploads or URLs, not both in one request');
    if (!parts.length && !hasUrls && !o.text?.trim()) throw new TypeError('give video, audio, images, text or their URLs');
    const spec: Spec = { method: 'POST', path: '/v1/analyse/multimodal', retrySafe: true };
    if (parts.length) {
      spec.parts = parts;
      if (o.text) spec.form = { text: o.text };
    } else {
      const body: Record<string, unknown> = {};
      if (o.videoUrl) body.video_url = o.videoUrl;
      if (o.audioUrl) body.audio_url = o.audioUrl;
      if (o.imageUrls?.length) body.image_urls = o.imageUrls;
      if (o.text) body.text = o.text;
      spec.json = body;
    }
    return this.#submit(common(spec, o), o);
  }
}

const seg = encodeURIComponent;

/** `client.results`. */
export class Results {
  readonly #client: EchoDepth;

  constructor(client: EchoDepth) {
    this.#client = client;
  }

  /** The job and, when completed, its full result; {@link NotFoundError} for unknown ids. */
  get(jobId: string): Promise<Result> {
    return this.#client.requestJson<Result>({ method: 'GET', path: `/v1/result/${seg(jobId)}`, retrySafe: true });
  }

  /** Erase the job, its input and its result. */
  async delete(jobId: string): Promise<void> {
    await this.#client.request({ method: 'DELETE', path: `/v1/result/${seg(jobId)}`, retrySafe: true });
  }
}

/** `client.jobs`. */
export class Jobs {
  readonly #client: EchoDepth;

  constructor(client: EchoDepth) {
    this.#client = client;
  }

  /** Every job of the tenant, newest first, following `next_cursor` (`for await (const job of ...)`). */
  async *list(options: { status?: JobStatus; pageSize?: number } = {}): AsyncGenerator<JobSummary, void, undefined> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#client.requestJson<{ data: JobSummary[]; nextCursor: string | null }>({
        method: 'GET',
        path: '/v1/jobs',
        query: { status: options.status, limit: options.pageSize ?? 20, cursor },
        retrySafe: true,
      });
      yield* page.data;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /** A {@link Job} handle for an existing job id. */
  async get(jobId: string): Promise<Job> {
    const result = await this.#client.results.get(jobId);
    return new Job(this.#client, jobId, result.status);
  }
}

/** `client.webhooks`: endpoints, secrets, delivery logs and replays. Verify deliveries with `verifyWebhook`. */
export class Webhooks {
  readonly #client: EchoDepth;

  constructor(client: EchoDepth) {
    this.#client = client;
  }

  /** Register an endpoint; the answer's `secret` (`whsec_…`) is shown this once. */
  create(options: { url: string; events: EventType[]; description?: string }): Promise<WebhookEndpointCreated> {
    return this.#client.requestJson({ method: 'POST', path: '/v1/webhooks', json: options, retrySafe: false });
  }

  /** The tenant's endpoints. */
  async list(): Promise<WebhookEndpoint[]> {
    return (await this.#client.requestJson<{ data: WebhookEndpoint[] }>({ method: 'GET', path: '/v1/webhooks', retrySafe: true })).data;
  }

  /** One endpoint. */
  get(endpointId: string): Promise<WebhookEndpoint> {
    return this.#client.requestJson({ method: 'GET', path: `/v1/webhooks/${seg(endpointId)}`, retrySafe: true });
  }

  /** Change the URL, events, description or status (`'active'` re-enables). */
  update(
    endpointId: string,
    changes: { url?: string; events?: EventType[]; description?: string; status?: 'active' | 'disabled' },
  ): Promise<WebhookEndpoint> {
    return this.#client.requestJson({ method: 'PATCH', path: `/v1/webhooks/${seg(endpointId)}`, json: changes, retrySafe: true });
  }

  /** Delete the endpoint, its secrets and its delivery log. */
  async delete(endpointId: string): Promise<void> {
    await this.#client.request({ method: 'DELETE', path: `/v1/webhooks/${seg(endpointId)}`, retrySafe: true });
  }

  /** A new signing secret (shown once); the old one keeps signing for the overlap period. */
  rotateSecret(endpointId: string): Promise<SecretRotated> {
    return this.#client.requestJson({ method: 'POST', path: `/v1/webhooks/${seg(endpointId)}/rotate-secret`, retrySafe: false });
  }

  /** The secret that signs deliveries to the per-job `webhookUrl` of analyse calls (rotates it). */
  rotateJobSigningSecret(): Promise<SecretRotated> {
    return this.#client.requestJson({ method: 'POST', path: '/v1/webhooks/job-signing-secret', retrySafe: false });
  }

  /** The delivery log, newest first: of one endpoint, or of all when `endpointId` is omitted
   * (`status: 'dead'` is the dead-letter list). */
  async deliveries(options: { endpointId?: string; status?: string; limit?: number } = {}): Promise<WebhookDelivery[]> {
    const path = options.endpointId ? `/v1/webhooks/${seg(options.endpointId)}/deliveries` : '/v1/webhooks/deliveries';
    const page = await this.#client.requestJson<{ data: WebhookDelivery[] }>({
      method: 'GET',
      path,
      query: { status: options.status, limit: options.limit },
      retrySafe: true,
    });
    return page.data;
  }

  /** Send a delivery's message again (same `webhook-id`). */
  replay(deliveryId: string): Promise<ReplayAccepted> {
    return this.#client.requestJson({ method: 'POST', path: `/v1/webhooks/deliveries/${seg(deliveryId)}/replay`, retrySafe: false });
  }
}

/** `client.stream`: real-time analysis over `WS /v1/stream/video`. */
export class Stream {
  readonly #client: EchoDepth;

  constructor(client: EchoDepth) {
    this.#client = client;
  }

  /** Open a stream session (resolves once connected and `start` is sent). */
  video(options: VideoStreamOptions = {}): Promise<VideoStream> {
    return VideoStream.open(this.#client.baseURL, this.#client.apiKey, options);
  }
}

/** The EchoDepth API client. */
export class EchoDepth {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly waitTimeout: number;
  /** Submit text, audio, video, images or a mix. */
  readonly analyse: Analyse;
  /** Fetch and delete results. */
  readonly results: Results;
  /** List jobs. */
  readonly jobs: Jobs;
  /** Webhook endpoints, secrets, delivery logs and replays. */
  readonly webhooks: Webhooks;
  /** Real-time video/audio analysis over a WebSocket. */
  readonly stream: Stream;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? process.env.ECHODEPTH_API_KEY;
    if (!apiKey) throw new EchoDepthError('no API key: pass { apiKey } or set ECHODEPTH_API_KEY');
    this.apiKey = apiKey;
    this.baseURL = (options.baseURL ?? process.env.ECHODEPTH_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeout = options.timeout ?? 60_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.waitTimeout = options.waitTimeout ?? 900_000;
    this.analyse = new Analyse(this);
    this.results = new Results(this);
    this.jobs = new Jobs(this);
    this.webhooks = new Webhooks(this);
    this.stream = new Stream(this);
  }

  async #body(spec: Spec): Promise<{ body?: BodyInit; contentType?: string }> {
    if (spec.parts?.length) {
      const form = new FormData();
      for (const [name, value] of Object.entries(spec.form ?? {})) form.append(name, value);
      for (const [name, input] of spec.parts) {
        const [blob, filename] = await toBlob(input);
        form.append(name, blob, filename);
      }
      return { body: form };
    }
    if (spec.json !== undefined) return { body: JSON.stringify(spec.json), contentType: 'application/json' };
    return {};
  }

  /** Send one API call with retries; a non-2xx answer rejects with its typed {@link APIError}. */
  async request(spec: Spec): Promise<Response> {
    const url = new URL(this.baseURL + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    for (let attempt = 0; ; attempt++) {
      const { body, contentType } = await this.#body(spec);
      const headers: Record<string, string> = {
        Authorization: `Bearer ${this.apiKey}`,
        Accept: 'application/json',
        'User-Agent': `echodepth-node/${VERSION}`,
        ...spec.headers,
      };
      if (contentType) headers['Content-Type'] = contentType;
      let retryAfter: number | null = null;
      let response: Response;
      try {
        response = await fetch(url, { method: spec.method, headers, body, signal: AbortSignal.timeout(this.timeout) });
      } catch (err) {
        const timedOut = (err as Error)?.name === 'TimeoutError';
        const retry = neverSent(err) || spec.retrySafe;
        if (attempt >= this.maxRetries || !retry) {
          if (timedOut) throw new APITimeoutError(`request timed out after ${this.timeout} ms`);
          throw new APIConnectionError(`connection failed: ${(err as Error)?.message ?? err}`);
        }
        await sleep(backoffMs(attempt, null));
        continue;
      }
      if (response.ok) return response;
      const retryable = response.status === 429 || (spec.retrySafe && RETRY_STATUSES.has(response.status));
      retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (attempt >= this.maxRetries || !retryable || (retryAfter !== null && retryAfter > MAX_RETRY_AFTER_S)) {
        throw await errorFrom(response);
      }
      await response.body?.cancel();
      await sleep(backoffMs(attempt, retryAfter));
    }
  }

  /** {@link request} and the camelCased JSON body. */
  async requestJson<T>(spec: Spec): Promise<T> {
    const response = await this.request(spec);
    const text = await response.text();
    return camelize<T>(text ? JSON.parse(text) : null);
  }
}
