/**
 * The JSON of upcall's callback log endpoint (docs/operations.md "Callback log and redelivery"),
 * as the client reads it: `GET /_upcall/callbacks` pages and `POST /_upcall/callbacks/redeliver`
 * results. Times are ISO 8601 strings; `body` is the callback body exactly as sent.
 */

export interface LoggedCallbackAttempt {
  url: string;
  ok: boolean;
  message: string;
  latencyMs: number;
}

export interface LoggedCallbackDelivery {
  at: string;
  ok: boolean;
  message: string;
  latencyMs: number;
  attempts: LoggedCallbackAttempt[];
  reply?: string;
  replyTruncated?: boolean;
  redelivery: boolean;
}

export interface LoggedCallback {
  requestId: string;
  bucket: string;
  key: string;
  operation: string;
  createdAt: string;
  /** The latest delivery failed. */
  failed: boolean;
  /** The latest delivery's OSS message, '' when it succeeded. */
  reason: string;
  urls: string[];
  callbackHost?: string;
  bodyType: string;
  body: string;
  /** Oldest first: the upload's own delivery, then each redelivery. */
  deliveries: LoggedCallbackDelivery[];
}

export interface CallbackLogPage {
  callbacks: LoggedCallback[];
  nextMarker?: string;
}

export interface ListCallbacksOptions {
  failed?: boolean | undefined;
  bucket?: string | undefined;
  key?: string | undefined;
  /** ISO 8601; only callbacks first sent at or after it. */
  since?: string | undefined;
  /** 1..1000, default 100. */
  limit?: number | undefined;
  marker?: string | undefined;
}

export interface RedeliveryResult {
  requestId: string;
  ok: boolean;
  message: string;
  reply?: string;
}
