/**
 * The receiver app's read API over recorded callbacks:
 *   GET /api/uploads      filters bucket, prefix, mimeType, var (repeatable, `name` or
 *                         `name=value`), verified, since/until (Unix ms or ISO 8601), limit,
 *                         cursor; newest first, cursor pagination (`nextCursor`).
 *                         Each record carries only the start of its body (`bodyTruncated`), and a
 *                         page ends early (with `nextCursor`) past a few MiB, so no page grows
 *                         with what was recorded.
 *   GET /api/uploads/:id  one record with its hook jobs and whatever body was kept.
 * Invariant: bad query input answers 400 JSON naming the parameter, never a 500.
 */
import type { FastifyInstance } from 'fastify';
import type { UploadQuery, UploadRecord } from './upload-record.ts';
import {
  LIST_BODY_EXCERPT_BYTES,
  type HookJob,
  type HookJobQueue,
  type UploadRepository,
} from './upload-repository.ts';

class BadQueryError extends Error {}

export interface UploadJson {
  id: number;
  receivedAt: string;
  verified: boolean;
  /** The body renders a template this receiver issued (docs/receiver.md "Threat"). */
  templateIssued: boolean;
  rejectReason?: string;
  bucket?: string;
  object?: string;
  etag?: string;
  size?: number;
  mimeType?: string;
  imageInfo?: UploadRecord['imageInfo'];
  vars: Record<string, string>;
  fields: UploadRecord['fields'];
  bodyFormat: string;
  clientIp?: string;
  requestId?: string;
  keyUrl?: string;
  target: string;
  headers: Record<string, string>;
  /** The raw body as UTF-8 text, and exactly as bytes (base64): all of it, or its start. */
  body: string;
  bodyBase64: string;
  /** The body's size as received, bytes. */
  bodySize: number;
  /** True when `body` is only the start: in a list page, or a refused callback's excerpt. */
  bodyTruncated: boolean;
  reply?: UploadRecord['reply'];
  /** How long the receiver took to answer the callback, ms (UploadRecord.latencyMs). */
  latencyMs?: number;
  hooks?: { hook: string; state: string; attempts: number; nextRunAt: string; lastError?: string }[];
}

export function uploadToJson(record: UploadRecord, jobs?: readonly HookJob[]): UploadJson {
  const { rawBody, receivedAt, bodySize, ...rest } = record;
  const bytes = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const json: UploadJson = {
    ...rest,
    templateIssued: record.templateIssued === true,
    receivedAt: new Date(receivedAt).toISOString(),
    body: bytes.toString('utf8'),
    bodyBase64: bytes.toString('base64'),
    bodySize: bodySize ?? bytes.byteLength,
    bodyTruncated: bodySize !== undefined && bodySize > bytes.byteLength,
  };
  if (jobs) {
    json.hooks = jobs.map((j) => ({
      hook: j.hook,
      state: j.state,
      attempts: j.attempts,
      nextRunAt: new Date(j.nextRunAt).toISOString(),
      ...(j.lastError === undefined ? {} : { lastError: j.lastError }),
    }));
  }
  return json;
}

/** The budget of one list page (UploadQuery.maxBytes): the dashboard's 200 rows fit many times over. */
export const LIST_PAGE_BYTES = 4 * 1024 * 1024;

/** A list page shows the start of each body, whatever the repository returned. */
function excerptOf(record: UploadRecord): UploadRecord {
  if (record.rawBody.byteLength <= LIST_BODY_EXCERPT_BYTES) return record;
  return {
    ...record,
    rawBody: record.rawBody.subarray(0, LIST_BODY_EXCERPT_BYTES),
    bodySize: record.bodySize ?? record.rawBody.byteLength,
  };
}

type RawQuery = Record<string, string | string[] | undefined>;

function single(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new BadQueryError(`Give "${name}" at most once.`);
  return value;
}

function time(query: RawQuery, name: string): number | undefined {
  const value = single(query, name);
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms))
    throw new BadQueryError(`"${name}" must be Unix milliseconds or an ISO 8601 time.`);
  return ms;
}

export function parseUploadQuery(query: RawQuery): UploadQuery {
  const result: UploadQuery = {};
  for (const name of ['bucket', 'prefix', 'mimeType', 'cursor'] as const) {
    const value = single(query, name);
    if (value !== undefined && value !== '') result[name] = value;
  }
  const since = time(query, 'since');
  if (since !== undefined) result.since = since;
  const until = time(query, 'until');
  if (until !== undefined) result.until = until;
  const limit = single(query, 'limit');
  if (limit !== undefined) {
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) {
      throw new BadQueryError('"limit" must be an integer from 1 to 1000.');
    }
    result.limit = Number(limit);
  }
  const verified = single(query, 'verified');
  if (verified !== undefined) {
    if (verified !== 'true' && verified !== 'false')
      throw new BadQueryError('"verified" must be true or false.');
    result.verified = verified === 'true';
  }
  const vars = query.var === undefined ? [] : Array.isArray(query.var) ? query.var : [query.var];
  if (vars.length > 0) {
    result.vars = vars.map((v) => {
      const eq = v.indexOf('=');
      const name = eq === -1 ? v : v.slice(0, eq);
      if (name === '') throw new BadQueryError('"var" must be name or name=value.');
      return eq === -1 ? { name } : { name, value: v.slice(eq + 1) };
    });
  }
  return result;
}

export function registerUploadsApi(
  app: FastifyInstance,
  deps: { uploads: UploadRepository; jobs: HookJobQueue },
): void {
  app.get('/api/uploads', async (request, reply) => {
    let query: UploadQuery;
    try {
      query = parseUploadQuery(request.query as RawQuery);
      const page = await deps.uploads.list({ maxBytes: LIST_PAGE_BYTES, ...query });
      return {
        uploads: page.uploads.map((u) => uploadToJson(excerptOf(u))),
        ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
      };
    } catch (err) {
      if (err instanceof BadQueryError || err instanceof RangeError) {
        return reply.code(400).send({ error: 'InvalidArgument', message: err.message });
      }
      throw err;
    }
  });

  app.get('/api/uploads/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const record = /^\d{1,15}$/.test(id) ? await deps.uploads.get(Number(id)) : undefined;
    if (record === undefined) {
      return reply.code(404).send({ error: 'NotFound', message: `No upload with id ${id}.` });
    }
    return uploadToJson(record, await deps.jobs.jobsFor(record.id));
  });
}
