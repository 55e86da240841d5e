/**
 * Response types, camelCased from the API's JSON (result schema v1: `trust_score` → `trustScore`,
 * `au_map` → `auMap`). Keys inside `metadata` are left as you sent them. Unknown keys are kept.
 */

export type JobStatus = 'queued' | 'processing' | 'completed' | 'failed';

export interface VAD {
  valence: number | null;
  arousal: number | null;
  dominance: number | null;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

export interface TrustComponent {
  name: string;
  value: number | null;
  weight: number | null;
  evidence: unknown[];
  [key: string]: unknown;
}

export interface Trust {
  score: number | null;
  band: string | null;
  confidence: number | null;
  components: TrustComponent[];
  note: string | null;
  [key: string]: unknown;
}

export interface Segment {
  start: number | null;
  end: number | null;
  text?: string | null;
  vad?: VAD | null;
  credibility?: number | null;
  emotions?: Record<string, number>;
  [key: string]: unknown;
}

/** A job and, once `status === 'completed'`, its full analysis (result schema v1). */
export interface Result {
  schemaVersion: string;
  jobId: string;
  status: JobStatus;
  modality: string;
  createdAt: string;
  completedAt: string | null;
  error: ErrorInfo | null;
  metadata: Record<string, unknown>;
  vad: VAD | null;
  /** 0–100, or null when the input cannot support one. Not a lie detector. */
  trustScore: number | null;
  trust: Trust | null;
  segments: Segment[];
  credibility: number[];
  emotions: Record<string, number>;
  /** Facial action units by name, e.g. `auMap.AU12` (empty for text). */
  auMap: Record<string, Record<string, unknown>>;
  linguistic: Record<string, unknown>;
  quality: { flags: string[] };
  engine: { version: string | null; models: Record<string, unknown> } | null;
  transcript?: Record<string, unknown>[];
  speakers?: Record<string, unknown>[];
  voice?: Record<string, unknown>;
  face?: Record<string, unknown>;
  faces?: Record<string, unknown>[];
  images?: Record<string, unknown>[];
  modalities?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The 202 answer of an analyse call. */
export interface JobAccepted {
  jobId: string;
  status: JobStatus;
  links: { result: string };
}

/** One job of `jobs.list()`. */
export interface JobSummary {
  jobId: string;
  status: JobStatus;
  modality: string;
  createdAt: string;
  completedAt: string | null;
  error: ErrorInfo | null;
  links: { result: string };
  [key: string]: unknown;
}

export type EventType = 'analysis.completed' | 'analysis.failed' | 'connection.needs_reauth';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  status: string;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

/** A new endpoint and its signing secret (`whsec_…`), shown this once. */
export interface WebhookEndpointCreated extends WebhookEndpoint {
  secret: string;
}

export interface SecretRotated {
  secret: string;
  previousSecretExpiresAt: string | null;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  /** The `webhook-id` header; the same on every retry and replay. */
  messageId: string;
  eventType: string;
  url: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  replayOf: string | null;
  createdAt: string;
  deliveredAt: string | null;
  [key: string]: unknown;
}

export interface ReplayAccepted {
  deliveryId: string;
  messageId: string;
}

/** One server message of a stream (`frame`, `second`, `dropped`, `summary`, `error`), camelCased. */
export interface StreamMessage {
  type: 'frame' | 'second' | 'dropped' | 'summary' | 'error' | string;
  [key: string]: unknown;
}
