/**
 * The callback path's writes on PostgreSQL, committed in groups: the uploads that arrive while
 * earlier writes are at the database go together in one statement (a data-modifying CTE, so one
 * transaction and one round trip) that inserts their records, `x:` vars and hook jobs, and
 * enqueues each job for graphile-worker with `graphile_worker.add_job(…)` in that same
 * transaction, so an upload never lacks its jobs and a rolled-back record never runs one
 * (issue 17). The default reply (`replyOf`) is written in the row itself, from an id taken from
 * the sequence before the insert (by the previous group's insert while busy); a reply set later
 * (`setReply`: a sync hook's or an app's own reply) goes with the others of its turn in one
 * UPDATE.
 *
 * Why groups: one statement per write cost each callback two round trips and two commits, and
 * `pg`'s per-query work in JavaScript; under load the receiver spent 1.2–1.5 ms of CPU per
 * callback, four times SQLite's (bench/findings.md). A statement for 8 uploads costs little more
 * than one for 1. Fixed statements over one JSON parameter per group, named so each connection prepares
 * them once, as the SQLite writer is plain better-sqlite3.
 *
 * Invariants: a write resolves only after its statement committed; a write that fails alone
 * (e.g. a second verified record of one (request id, signature), SQLSTATE 23505, whichever
 * instance wrote the first) rejects alone, since a failed group is retried one write at a time.
 */
import type pg from 'pg';
import type { NewUpload, UploadWriter } from './upload-writer.ts';
import type { UploadsTable } from './sqlite-receiver-schema.ts';

/** graphile-worker's task name for a hook job; its payload is `{ jobId }` (a hook_jobs row). */
export const HOOK_TASK = 'upcall_hook';

/** Each column's PostgreSQL type (pg-receiver-schema.ts), for the rows a group's JSON becomes. */
const COLUMN_TYPES = {
  received_at: 'bigint',
  verified: 'integer',
  reject_reason: 'text',
  template_issued: 'integer',
  bucket: 'text',
  object: 'text',
  etag: 'text',
  size: 'bigint',
  mime_type: 'text',
  image_height: 'integer',
  image_width: 'integer',
  image_format: 'text',
  vars_json: 'text',
  fields_json: 'text',
  body_format: 'text',
  client_ip: 'text',
  request_id: 'text',
  key_url: 'text',
  target: 'text',
  headers_json: 'text',
  raw_body: 'bytea',
  body_size: 'bigint',
  reply_json: 'text',
  latency_ms: 'double precision',
  signature: 'text',
} satisfies Record<keyof Omit<UploadsTable, 'id'>, string>;

/**
 * Statements of one kind in flight at once. While they are at the database, new writes queue
 * and go together in the next one: the busier the receiver, the bigger the groups.
 */
const MAX_IN_FLIGHT = 2;
/** A bound on one statement's size (this many rows, with their vars and jobs). */
const MAX_GROUP = 64;
/**
 * How long ids taken ahead from the sequence stay usable. An instance that sat idle takes new
 * ones, so its next record does not get an id smaller than those other instances gave meanwhile.
 */
const RESERVE_MAX_AGE_MS = 500;

export function createPgUploadWriter(pool: pg.Pool, columns: readonly string[]): UploadWriter {
  const quoted = columns.map((c) => `"${c}"`).join(', ');
  const typeOf = (c: string): string => {
    const type = (COLUMN_TYPES as Record<string, string | undefined>)[c];
    if (type === undefined) throw new TypeError(`no PostgreSQL type for uploads.${c}`);
    return type;
  };
  const byteaColumns = columns.filter((c) => typeOf(c) === 'bytea');
  // The identity's sequence, looked up once per statement: `pg_get_serial_sequence` inside the
  // id list ran once per id, 5 % of the backend's time (bench/findings.md).
  const sequence = `"seq" as materialized (select pg_get_serial_sequence('"uploads"', 'id')::regclass as "s")`;
  const takeIds = (count: string) =>
    `array(select nextval("seq"."s") from "seq", generate_series(1, ${count}::integer))`;
  // The ids are taken from the identity's sequence first (`nextIds`: a read of the sequence,
  // no row written), so the default reply, made from the new id, goes into the row with it:
  // recording it afterwards by UPDATE cost PostgreSQL as much again as the insert (a second
  // version of every row, its five index entries anew: bench/findings.md).
  const nextIds = `with ${sequence} select ${takeIds('$1')} as "ids"`;
  // A group is ONE json parameter, an array of objects (the row's columns by name, with its id,
  // `x:` vars, hook names and their due time), that PostgreSQL turns into rows in C
  // (`json_to_recordset`). Bound as 25+ typed arrays instead, `pg` escaped every element in
  // JavaScript and PostgreSQL parsed 25+ array literals: more CPU on both sides per group
  // (bench/findings.md). Each row's vars and jobs come out of its own object, so they cannot
  // land on another upload (which is why they need no foreign key: pg-receiver-schema.ts).
  const group =
    `with "x" as (select * from json_to_recordset($1::json) as "t"("id" bigint, ` +
    `${columns.map((c) => `"${c}" ${typeOf(c)}`).join(', ')}, "vars" json, "hooks" json, "at" bigint)), ` +
    `"u" as (insert into "uploads" ("id", ${quoted}) select "id", ${quoted} from "x"), ` +
    `"v" as (insert into "upload_vars" ("upload_id", "name", "value") select "x"."id", "a"."key", "a"."value" ` +
    `from "x", json_each_text("x"."vars") as "a"), ${sequence}`;
  // Two statements, so a group without hook jobs (what a receiver without hooks always sends)
  // does not open `hook_jobs` and its three indexes, nor call into graphile-worker.
  const insertUploads = `${group} select ${takeIds('$2')} as "ahead"`;
  const insertUploadsWithJobs =
    `${group}, "j" as (insert into "hook_jobs" ("upload_id", "hook", "state", "attempts", "next_run_at", "last_error", "updated_at") ` +
    `select "x"."id", "h"."value", 'pending', 0, "x"."at", null, "x"."at" ` +
    `from "x", json_array_elements_text("x"."hooks") as "h" returning "id") ` +
    `select (select count(graphile_worker.add_job('${HOOK_TASK}', json_build_object('jobId', "j"."id"))) from "j") as "jobs", ` +
    `${takeIds('$2')} as "ahead"`;
  const updateReplies =
    'update "uploads" set "reply_json" = "r"."reply_json", "latency_ms" = "r"."latency_ms" ' +
    'from unnest($1::bigint[], $2::text[], $3::double precision[]) as "r"("id", "reply_json", "latency_ms") ' +
    'where "uploads"."id" = "r"."id"';

  // An upload keeps the id and reply it was given when its group is retried alone (below), so
  // `replyOf` is asked once per upload.
  type Pending = { upload: NewUpload; id?: number; reply?: { json: string; latencyMs: number | null } };
  // Ids taken ahead: each insert statement also takes from the sequence as many ids as its group
  // had, for the next group, so a busy receiver sends one statement per group, not two (the
  // second cost a loopback write, `pg`'s protocol work and a PostgreSQL transaction: about 10 %
  // of the receiver's CPU; bench/findings.md). They are used only while fresh, so ids keep
  // following arrival across instances to within RESERVE_MAX_AGE_MS (docs/receiver.md).
  const reserve: { id: number; at: number }[] = [];
  const takeReserved = (count: number): number[] => {
    const now = performance.now();
    while (reserve.length > 0 && now - reserve[0]!.at > RESERVE_MAX_AGE_MS) reserve.shift();
    return reserve.splice(0, count).map((r) => r.id);
  };
  const inserts = groupCommitter<Pending, number>(async (pending) => {
    const fresh = pending.filter((p) => p.id === undefined);
    if (fresh.length > 0) {
      let taken = takeReserved(fresh.length);
      if (taken.length < fresh.length) {
        const { rows } = await pool.query<{ ids: number[] }>({
          name: 'upcall_next_upload_ids',
          text: nextIds,
          values: [fresh.length - taken.length],
        });
        taken = taken.concat(rows[0]!.ids);
      }
      taken.forEach((id, i) => {
        const p = fresh[i]!;
        // The reply before the id is kept: an upload whose replyOf throws stays fresh, and fails
        // alone when its group is retried.
        const reply = p.upload.replyOf?.(Number(id));
        p.id = Number(id);
        if (reply !== undefined) p.reply = reply;
      });
    }
    const ids: number[] = [];
    let withJobs = false;
    const rows = pending.map(({ upload: { row, vars, hookNames, receivedAt }, id, reply }) => {
      ids.push(id!);
      const out: Record<string, unknown> = { id };
      for (const c of columns) out[c] = row[c] ?? null;
      // bytea's hex input form: Buffer's hex encoding is native, and half the size of the
      // `\\ooo` escapes a JSON string would otherwise need.
      for (const c of byteaColumns) {
        const value = row[c];
        if (Buffer.isBuffer(value)) out[c] = `\\x${value.toString('hex')}`;
      }
      if (reply !== undefined) {
        out['reply_json'] = reply.json;
        out['latency_ms'] = reply.latencyMs;
      }
      out['vars'] = vars;
      if (hookNames.length > 0) {
        withJobs = true;
        out['hooks'] = hookNames;
        out['at'] = receivedAt;
      }
      return out;
    });
    // As many ahead as this group had, up to a group's worth held (two statements in flight may
    // both add theirs).
    const ahead = Math.max(Math.min(pending.length, MAX_GROUP - reserve.length), 0);
    // Their age counts from before the statement, the earliest the sequence can have given them.
    const at = performance.now();
    const result = await pool.query<{ ahead: number[] }>({
      name: withJobs ? 'upcall_insert_uploads_jobs' : 'upcall_insert_uploads',
      text: withJobs ? insertUploadsWithJobs : insertUploads,
      values: [groupJson(rows), ahead],
    });
    for (const id of result.rows[0]!.ahead) reserve.push({ id: Number(id), at });
    return ids;
  });
  const replies = groupCommitter<{ id: number; json: string; latencyMs: number | null }, void>(
    async (writes) => {
      await pool.query({
        name: 'upcall_set_replies',
        text: updateReplies,
        values: [writes.map((w) => w.id), writes.map((w) => w.json), writes.map((w) => w.latencyMs)],
      });
      return writes.map(() => undefined);
    },
  );

  return {
    insert: (upload) => inserts.add({ upload }),
    setReply: (id, json, latencyMs) => replies.add({ id, json, latencyMs }),
    // Vars and jobs have no foreign key to cascade from (pg-receiver-schema.ts): they go in the
    // same statement as their upload.
    async pruneRefused(keep) {
      await pool.query(
        'with "d" as (delete from "uploads" where "verified" = 0 and "id" < (' +
          'select "id" from "uploads" where "verified" = 0 order by "id" desc limit 1 offset $1) returning "id"), ' +
          '"v" as (delete from "upload_vars" where "upload_id" in (select "id" from "d")), ' +
          '"j" as (delete from "hook_jobs" where "upload_id" in (select "id" from "d")) ' +
          'select count(*) from "d"',
        [Math.max(keep - 1, 0)],
      );
    },
    // Every write is on its way to the database already; the pool's end waits for them.
    flush() {},
  };
}

/**
 * The group as JSON text. PostgreSQL refuses a lone UTF-16 surrogate in JSON (`\ud800` has no
 * text value), where `pg` would have sent it as UTF-8's replacement character; a callback's
 * fields can hold one (a JSON body's `"\ud800"`), so the rare group with one is written again
 * with U+FFFD in its place, as before.
 */
function groupJson(rows: readonly Record<string, unknown>[]): string {
  const text = JSON.stringify(rows);
  // JSON.stringify writes a lone surrogate as a `\udXXX` escape (ES2019); the test may also
  // match an escaped backslash before "ud", which only costs the slower path.
  if (!text.includes('\\ud')) return text;
  return JSON.stringify(rows, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(/\p{Surrogate}/gu, '\ufffd') : value,
  );
}

/**
 * Runs `commit` over groups of the items added: the first at once, and while `MAX_IN_FLIGHT`
 * groups are out, the next items wait and leave together when one returns. A group that fails
 * is retried one item at a time, in order, so each item gets its own outcome.
 */
function groupCommitter<T, R>(commit: (items: readonly T[]) => Promise<R[]>): { add(item: T): Promise<R> } {
  type Entry = { item: T; resolve: (value: R) => void; reject: (err: unknown) => void };
  const queued: Entry[] = [];
  let inFlight = 0;
  let scheduled = false;

  const run = async (entries: Entry[]): Promise<void> => {
    try {
      const results = await commit(entries.map((e) => e.item));
      entries.forEach((e, i) => e.resolve(results[i]!));
    } catch (error) {
      if (entries.length === 1) {
        entries[0]!.reject(error);
        return;
      }
      // In arrival order, so of two deliveries of one callback the first is the one recorded.
      for (const e of entries) {
        try {
          e.resolve((await commit([e.item]))[0]!);
        } catch (err) {
          e.reject(err);
        }
      }
    }
  };
  const pump = (): void => {
    scheduled = false;
    while (queued.length > 0 && inFlight < MAX_IN_FLIGHT) {
      const group = queued.splice(0, MAX_GROUP);
      inFlight++;
      void run(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  return {
    add: (item) =>
      new Promise<R>((resolve, reject) => {
        queued.push({ item, resolve, reject });
        // Within one turn of the event loop, writes join the group that leaves at its end.
        if (!scheduled && inFlight < MAX_IN_FLIGHT) {
          scheduled = true;
          setImmediate(pump);
        }
      }),
  };
}
