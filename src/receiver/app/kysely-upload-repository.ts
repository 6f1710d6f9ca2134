/**
 * UploadRepository on Kysely, for SQLite and PostgreSQL alike: reads (one record, filtered pages
 * within a byte budget) through Kysely, whose queries run unchanged on both dialects (measured,
 * ../shared/services/README.md "SQLite → PostgreSQL") except the one expression that sizes a
 * record, which each store passes in; the callback path's writes (insert, reply, prune) through
 * the store's writer (`upload-writer.ts`). Maps rows to UploadRecord and back; the schema is in
 * `sqlite-receiver-schema.ts` (the PostgreSQL migration, `pg-receiver-schema.ts`, makes the same
 * tables).
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type {
  CallbackBodyFormat,
  CallbackFieldValue,
  JsonValue,
  CallbackVerificationReason,
} from 'upcall-verify';
import type { NewUploadRecord, UploadPage, UploadQuery, UploadRecord } from './upload-record.ts';
import type { UploadWriter } from './upload-writer.ts';
import { LIST_BODY_EXCERPT_BYTES, type UploadRepository } from './upload-repository.ts';
import { UPLOAD_COLUMNS, type ReceiverSchema, type UploadsTable } from './sqlite-receiver-schema.ts';

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 50;
/** The default budget of a list page (UploadQuery.maxBytes). */
const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/** Every column but the body, which a list page selects cut to its excerpt. */
const LISTED_COLUMNS = [
  'id',
  ...UPLOAD_COLUMNS.filter((c) => c !== 'raw_body' && c !== 'body_size'),
] as (keyof UploadsTable)[];

/**
 * What a list page counts per record against its byte budget: the JSON columns, the target, the
 * reply and the body up to its excerpt (× 3: base64 plus text in the API's JSON). SQLite and
 * PostgreSQL spell byte lengths and a two-argument minimum differently.
 */
export const SQLITE_RECORD_BYTES = sql<number>`length(cast(vars_json as blob)) + length(cast(fields_json as blob)) + length(cast(headers_json as blob)) + length(cast(target as blob)) + coalesce(length(cast(reply_json as blob)), 0) + min(length(raw_body), ${LIST_BODY_EXCERPT_BYTES}) * 3`;
export const PG_RECORD_BYTES = sql<number>`octet_length(vars_json) + octet_length(fields_json) + octet_length(headers_json) + octet_length(target) + coalesce(octet_length(reply_json), 0) + least(octet_length(raw_body), ${LIST_BODY_EXCERPT_BYTES}) * 3`;

export function createUploadRepository(
  db: Kysely<ReceiverSchema>,
  writer: UploadWriter,
  recordBytes: RawBuilder<number>,
): UploadRepository {
  return {
    // The callback path's writes go through the group-committing writer (sqlite-upload-writer.ts).
    insert: (record, hookNames) =>
      writer.insert({ row: toRow(record), vars: record.vars, hookNames, receivedAt: record.receivedAt }),

    insertWithReply: (record, hookNames, replyOf) =>
      writer.insert({
        row: toRow(record),
        vars: record.vars,
        hookNames,
        receivedAt: record.receivedAt,
        replyOf: (id) => {
          const { reply, latencyMs } = replyOf(id);
          return { json: JSON.stringify(reply), latencyMs: latencyMs ?? null };
        },
      }),

    setReply: (id, reply, latencyMs) => writer.setReply(id, JSON.stringify(reply), latencyMs ?? null),

    async findDelivery(requestId, signature) {
      const row = await db
        .selectFrom('uploads')
        .selectAll()
        .where('request_id', '=', requestId)
        .where('signature', '=', signature)
        .executeTakeFirst();
      return row && fromRow(row);
    },

    async get(id) {
      const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    },

    async list(query: UploadQuery): Promise<UploadPage> {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
      const budget = query.maxBytes ?? DEFAULT_PAGE_BYTES;
      let q = db.selectFrom('uploads');
      if (query.bucket !== undefined) q = q.where('bucket', '=', query.bucket);
      if (query.prefix !== undefined && query.prefix !== '') {
        // substr() rather than LIKE: keys may contain % and _, and LIKE is case-insensitive.
        q = q.where(sql<boolean>`substr(object, 1, ${query.prefix.length}) = ${query.prefix}`);
      }
      if (query.mimeType !== undefined) q = q.where('mime_type', '=', query.mimeType);
      if (query.verified !== undefined) q = q.where('verified', '=', query.verified ? 1 : 0);
      if (query.since !== undefined) q = q.where('received_at', '>=', query.since);
      if (query.until !== undefined) q = q.where('received_at', '<', query.until);
      for (const v of query.vars ?? []) {
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('upload_vars')
              .select('upload_vars.upload_id')
              .whereRef('upload_vars.upload_id', '=', 'uploads.id')
              .where('upload_vars.name', '=', v.name)
              .$if(v.value !== undefined, (sub) => sub.where('upload_vars.value', '=', v.value!)),
          ),
        );
      }
      if (query.cursor !== undefined) q = q.where('id', '<', decodeCursor(query.cursor));
      // Two steps, so a page never loads more than its budget: first the matching ids with the
      // size each record would add (computed by SQLite, nothing copied out), then only the rows
      // that fit, with bodies cut to the excerpt. Junk records once made a single page 117 MB.
      // (`substr` and `length` work on bytea too: the second step is the same SQL on both.)
      const sizes = await q
        .select(['id', recordBytes.as('bytes')])
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const ids: number[] = [];
      let total = 0;
      for (const row of sizes.slice(0, limit)) {
        if (ids.length > 0 && total + row.bytes > budget) break;
        ids.push(row.id);
        total += row.bytes;
      }
      if (ids.length === 0) return { uploads: [] };
      const rows = await db
        .selectFrom('uploads')
        .select(LISTED_COLUMNS)
        .select([
          sql<Buffer>`substr(raw_body, 1, ${LIST_BODY_EXCERPT_BYTES})`.as('raw_body'),
          sql<number>`coalesce(body_size, length(raw_body))`.as('body_size'),
        ])
        .where('id', 'in', ids)
        .orderBy('id', 'desc')
        .execute();
      const page: UploadPage = { uploads: rows.map(fromRow) };
      if (sizes.length > ids.length) page.nextCursor = encodeCursor(ids.at(-1)!);
      return page;
    },

    async pruneRefused(keep) {
      if (keep >= 1) await writer.pruneRefused(keep);
    },
  };
}

function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^id:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new RangeError('The cursor is not one this server issued.');
  return Number(match[1]);
}

function toRow(record: NewUploadRecord): Omit<UploadsTable, 'id'> {
  return {
    received_at: record.receivedAt,
    verified: record.verified ? 1 : 0,
    reject_reason: record.rejectReason ?? null,
    template_issued: record.templateIssued === true ? 1 : 0,
    bucket: record.bucket ?? null,
    object: record.object ?? null,
    etag: record.etag ?? null,
    size: record.size ?? null,
    mime_type: record.mimeType ?? null,
    image_height: record.imageInfo?.height ?? null,
    image_width: record.imageInfo?.width ?? null,
    image_format: record.imageInfo?.format ?? null,
    vars_json: JSON.stringify(record.vars),
    fields_json: JSON.stringify(record.fields),
    body_format: record.bodyFormat,
    client_ip: record.clientIp ?? null,
    request_id: record.requestId ?? null,
    key_url: record.keyUrl ?? null,
    target: record.target,
    headers_json: JSON.stringify(record.headers),
    raw_body: Buffer.from(record.rawBody.buffer, record.rawBody.byteOffset, record.rawBody.byteLength),
    body_size: record.bodySize ?? null,
    reply_json: null,
    latency_ms: null,
    signature:
      record.verified && record.requestId !== undefined ? (record.headers['authorization'] ?? null) : null,
  };
}

function fromRow(row: Selectable<UploadsTable>): UploadRecord {
  const record: UploadRecord = {
    id: row.id,
    receivedAt: row.received_at,
    verified: row.verified === 1,
    templateIssued: row.template_issued === 1,
    vars: JSON.parse(row.vars_json) as Record<string, string>,
    fields: JSON.parse(row.fields_json) as Record<string, CallbackFieldValue>,
    bodyFormat: row.body_format as CallbackBodyFormat,
    target: row.target,
    headers: JSON.parse(row.headers_json) as Record<string, string>,
    rawBody: new Uint8Array(row.raw_body),
  };
  if (row.reject_reason !== null) record.rejectReason = row.reject_reason as CallbackVerificationReason;
  if (row.bucket !== null) record.bucket = row.bucket;
  if (row.object !== null) record.object = row.object;
  if (row.etag !== null) record.etag = row.etag;
  if (row.size !== null) record.size = row.size;
  if (row.mime_type !== null) record.mimeType = row.mime_type;
  if (row.image_height !== null || row.image_width !== null || row.image_format !== null) {
    record.imageInfo = {};
    if (row.image_height !== null) record.imageInfo.height = row.image_height;
    if (row.image_width !== null) record.imageInfo.width = row.image_width;
    if (row.image_format !== null) record.imageInfo.format = row.image_format;
  }
  if (row.client_ip !== null) record.clientIp = row.client_ip;
  if (row.request_id !== null) record.requestId = row.request_id;
  if (row.key_url !== null) record.keyUrl = row.key_url;
  if (row.reply_json !== null) record.reply = JSON.parse(row.reply_json) as JsonValue;
  if (row.latency_ms !== null) record.latencyMs = row.latency_ms;
  if (row.body_size !== null && row.body_size !== row.raw_body.length) record.bodySize = row.body_size;
  return record;
}
