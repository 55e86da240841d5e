/**
 * Real-time analysis over `WS /v1/stream/video` (protocol: docs/streaming.md). Uses the `ws` package, which
 * can send the Authorization header (Node ≥ 20 has no global WebSocket that can).
 */
import WebSocket from 'ws';

import { camelize } from './case.js';
import { AuthenticationError, StreamError } from './errors.js';
import type { StreamMessage } from './types.js';

export const FRAME = 0x01;
export const AUDIO = 0x02;

export interface VideoStreamOptions {
  /** Frames per second you will send (default 15). */
  fps?: number;
  /** Whether you will send audio (default false). */
  audio?: boolean;
  metadata?: Record<string, unknown>;
  /** Milliseconds to wait for the connection (default 10 000). */
  openTimeout?: number;
}

/** The stream's ws:// or wss:// URL for an API base URL. */
export function wsURL(baseURL: string): string {
  return baseURL.replace(/^http(s?):\/\//, 'ws$1://') + '/v1/stream/video';
}

function media(kind: number, tsMs: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header[0] = kind;
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(tsMs))), 1);
  return Buffer.concat([header, payload]);
}

/**
 * A stream session: `sendFrame`, `sendAudio`, `end`, and `for await (const m of stream)` over the server's
 * messages; iteration ends after `summary`, whose job id is then `summaryJobId`.
 */
export class VideoStream implements AsyncIterable<StreamMessage> {
  summaryJobId: string | null = null;
  lastError: StreamMessage | null = null;
  readonly #ws: WebSocket;
  readonly #t0 = Date.now();
  readonly #queue: StreamMessage[] = [];
  #waiters: Array<() => void> = [];
  #closed: { code: number; reason: string } | null = null;
  #done = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = camelize<StreamMessage>(JSON.parse(data.toString()));
      if (message.type === 'summary') this.summaryJobId = String(message.jobId);
      if (message.type === 'error') this.lastError = message;
      this.#queue.push(message);
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.#closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Connect, send `start`, and resolve to the session. */
  static open(baseURL: string, apiKey: string, options: VideoStreamOptions = {}): Promise<VideoStream> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsURL(baseURL), {
        headers: { Authorization: `Bearer ${apiKey}` },
        handshakeTimeout: options.openTimeout ?? 10_000,
      });
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        ws.terminate();
        reject(
          status === 401 || status === 403
            ? new AuthenticationError('unauthorized', status, 'the stream refused the API key')
            : new StreamError('connect_failed', `HTTP ${status}`),
        );
      });
      ws.once('error', (err) => reject(new StreamError('connect_failed', err.message)));
      ws.once('open', () => {
        const stream = new VideoStream(ws);
        ws.send(JSON.stringify({ type: 'start', fps: options.fps ?? 15, audio: options.audio ?? false, metadata: options.metadata ?? {} }));
        resolve(stream);
      });
    });
  }

  #ts(tsMs?: number): number {
    return tsMs ?? Date.now() - this.#t0;
  }

  /** Send one video frame (JPEG, PNG or WebP bytes) stamped `tsMs` (default: ms since start). */
  sendFrame(image: Uint8Array, tsMs?: number): void {
    this.#ws.send(media(FRAME, this.#ts(tsMs), image));
  }

  /** Send a chunk of 16 kHz mono signed 16-bit little-endian PCM stamped `tsMs`. */
  sendAudio(pcm: Uint8Array, tsMs?: number): void {
    if (pcm.byteLength % 2) throw new RangeError('PCM must be 16-bit samples (an even number of bytes)');
    this.#ws.send(media(AUDIO, this.#ts(tsMs), pcm));
  }

  /** Say the stream is over; the server answers with the remaining messages and a `summary`. */
  end(): void {
    this.#ws.send(JSON.stringify({ type: 'end' }));
  }

  /** The next server message, or null once the stream is over. */
  async next(): Promise<StreamMessage | null> {
    for (;;) {
      if (this.#done) return null;
      const message = this.#queue.shift();
      if (message) {
        if (message.type === 'summary') this.#done = true;
        return message;
      }
      if (this.#closed) {
        this.#done = true;
        const { code, reason } = this.#closed;
        if (this.summaryJobId === null && (code !== 1000 || this.lastError)) {
          const err = this.lastError;
          throw err ? new StreamError(String(err.code), String(err.message ?? ''), code) : new StreamError(`closed_${code}`, reason, code);
        }
        return null;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamMessage> {
    for (;;) {
      const message = await this.next();
      if (message === null) return;
      yield message;
    }
  }

  /** Close the socket. */
  close(): void {
    this.#ws.close();
  }
}
