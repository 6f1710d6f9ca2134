/**
 * Streaming reader of a PostObject form (`POST /` with multipart/form-data, OSS PostObject).
 *
 * Owns: collecting the text fields (bounded in count, size and total size), handing the single
 * `file` part over as a stream the moment it starts, and proving afterwards that the form was
 * well-formed (the file came last and alone). It never buffers the file and knows nothing of
 * policies, signatures or the store.
 *
 * Invariants:
 * - `onFile` runs at most once, with every field that preceded the file.
 * - `formComplete()` (for the store's `beforeCommit`) resolves only when the whole request has been
 *   parsed without a second file, a field after the file or a broken body; otherwise it rejects,
 *   so a bad or interrupted form never commits an object.
 * - Every failure is an OssError; the rest of the request body is drained so the error response
 *   reaches the client.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import { isOssError, ossError, type OssError } from '../../shared/oss-error.ts';

export interface PostObjectFormLimits {
  /** Most text fields accepted. */
  maxFields: number;
  /** Largest single field value, in bytes. */
  maxFieldBytes: number;
  /** Largest sum of all field names and values, in bytes. */
  maxTotalFieldBytes: number;
}

// FIDELITY: OSS documents no exact limits for the non-file part of a form; these leave room for a
// V4 policy with many conditions plus a callback and its `x:` variables (SPEC.md §7.2).
export const DEFAULT_POST_OBJECT_FORM_LIMITS: PostObjectFormLimits = {
  maxFields: 200,
  maxFieldBytes: 64 * 1024,
  maxTotalFieldBytes: 256 * 1024,
};

export interface PostObjectFile {
  /** The file name the browser sent, without any directory part ('' when none). */
  filename: string;
  /** The part's own Content-Type ('' when none). */
  contentType: string;
  stream: Readable;
}

export interface PostObjectForm {
  /**
   * Text fields in arrival order, keyed by lower-case name (OSS form field names are
   * case-insensitive); values are verbatim. A repeated name keeps its first value.
   */
  fields: ReadonlyMap<string, string>;
  file: PostObjectFile;
  /** Resolves once the rest of the form has been read and was valid; rejects with the OssError otherwise. */
  formComplete: () => Promise<void>;
}

const NOT_MULTIPART = 'Bucket POST must be of the enclosure-type multipart/form-data.';

/**
 * Parses `body` and calls `onFile` when the file part begins; resolves with its result.
 * @throws InvalidArgument (not multipart/form-data, field too large, too many fields, a field after
 *   the file) | IncorrectNumberOfFilesInPOSTRequest (no file, or more than one) | MalformedPOSTRequest
 *   | whatever `onFile` throws
 */
export async function parsePostObjectForm<T>(
  body: Readable,
  headers: IncomingHttpHeaders,
  limits: PostObjectFormLimits,
  onFile: (form: PostObjectForm) => Promise<T>,
): Promise<T> {
  const contentType = headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw ossError('InvalidArgument', { message: NOT_MULTIPART });
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      defCharset: 'utf8',
      defParamCharset: 'utf8',
      limits: {
        fieldNameSize: 1024,
        // One byte more than allowed, so an oversized value shows up as truncated.
        fieldSize: limits.maxFieldBytes + 1,
        fields: limits.maxFields,
      },
    });
  } catch (cause) {
    // busboy throws when the boundary is missing or the type is not multipart.
    throw ossError('InvalidArgument', { message: NOT_MULTIPART, cause });
  }

  return new Promise<T>((resolve, reject) => {
    const fields = new Map<string, string>();
    let totalFieldBytes = 0;
    let fileSeen = false;
    let settled = false;
    /** The first problem found; once set the form is refused. */
    let failure: OssError | undefined;
    let finished = false;
    let fileStream: Readable | undefined;
    const completionWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

    const settleWaiters = (): void => {
      for (const waiter of completionWaiters.splice(0)) {
        if (failure !== undefined) waiter.reject(failure);
        else waiter.resolve();
      }
    };

    const fail = (error: OssError): void => {
      if (failure !== undefined) return;
      failure = error;
      // Stop parsing and throw the rest of the body away, so the client can read our answer.
      body.unpipe(parser);
      body.resume();
      parser.removeAllListeners('field');
      parser.removeAllListeners('file');
      if (fileStream !== undefined && !fileStream.readableEnded) {
        // Whoever reads the file (the store) sees the error; when nobody reads it yet, the error
        // must still not escape as an unhandled 'error' event and crash the process.
        fileStream.on('error', () => undefined);
        fileStream.destroy(error);
      }
      settleWaiters();
      if (!settled) {
        settled = true;
        reject(error);
      }
    };

    const formComplete = (): Promise<void> => {
      if (failure !== undefined) return Promise.reject(failure);
      if (finished) return Promise.resolve();
      return new Promise<void>((res, rej) => completionWaiters.push({ resolve: res, reject: rej }));
    };

    const startFile = (file: PostObjectFile): void => {
      fileSeen = true;
      fileStream = file.stream;
      // busboy destroys the file stream when the form breaks, possibly before the store has
      // attached its listeners (it may still be checking the policy or opening the blob file). The
      // store still sees the failure (the stream is destroyed); the process must not crash.
      file.stream.on('error', () => undefined);
      onFile({ fields, file, formComplete }).then(
        (value) => {
          if (settled) return;
          settled = true;
          resolve(value);
        },
        (error: unknown) => {
          if (isOssError(error)) {
            fail(error);
            return;
          }
          // A plain error is usually the file stream dying because the form broke: give the
          // parser a turn to report that as the OssError it is.
          setImmediate(() => {
            if (failure !== undefined || settled) return;
            // Not ours to classify (the caller turns it into InternalError); still stop reading.
            body.unpipe(parser);
            body.resume();
            settled = true;
            reject(error instanceof Error ? error : new Error(String(error)));
          });
        },
      );
    };

    parser.on('field', (rawName, value, info) => {
      const name = rawName.toLowerCase();
      if (fileSeen) {
        // FIDELITY: OSS requires the file to be the last field; anything after it refuses the form.
        fail(ossError('InvalidArgument', { message: 'The file must be the last field in the form.' }));
        return;
      }
      if (info.nameTruncated || info.valueTruncated) {
        fail(
          ossError('InvalidArgument', {
            message: `Form field ${rawName} is longer than ${limits.maxFieldBytes} bytes.`,
            details: { ArgumentName: rawName },
          }),
        );
        return;
      }
      totalFieldBytes += Buffer.byteLength(rawName) + Buffer.byteLength(value);
      if (totalFieldBytes > limits.maxTotalFieldBytes) {
        fail(
          ossError('InvalidArgument', {
            message: `The form fields exceed ${limits.maxTotalFieldBytes} bytes in total.`,
          }),
        );
        return;
      }
      if (name === 'file') {
        // A `file` part sent without a filename (curl -F file=text) is still the file.
        startFile({ filename: '', contentType: info.mimeType, stream: bufferStream(value) });
        return;
      }
      if (!fields.has(name)) fields.set(name, value);
    });

    parser.on('file', (rawName, stream, info) => {
      if (fileSeen || rawName.toLowerCase() !== 'file') {
        stream.resume();
        fail(
          fileSeen
            ? ossError('IncorrectNumberOfFilesInPOSTRequest')
            : ossError('InvalidArgument', {
                message: 'The name of the file field must be "file".',
                details: { ArgumentName: rawName },
              }),
        );
        return;
      }
      startFile({ filename: info.filename ?? '', contentType: info.mimeType, stream });
    });

    parser.on('fieldsLimit', () => {
      fail(ossError('InvalidArgument', { message: `A form may have at most ${limits.maxFields} fields.` }));
    });

    parser.on('error', (cause: unknown) => {
      fail(ossError('MalformedPOSTRequest', { cause }));
    });

    parser.on('close', () => {
      finished = true;
      if (!fileSeen) {
        fail(ossError('IncorrectNumberOfFilesInPOSTRequest'));
        return;
      }
      settleWaiters();
    });

    // An interrupted upload: the request ends without the closing boundary or the socket dies.
    body.on('error', (cause: unknown) => fail(ossError('IncompleteBody', { cause })));
    body.on('close', () => {
      if (!body.readableEnded && !finished) fail(ossError('IncompleteBody'));
    });

    body.pipe(parser);
  });
}

function bufferStream(value: string): Readable {
  return Readable.from([Buffer.from(value, 'utf8')]);
}

/** Replaces `${filename}` in a PostObject key with the uploaded file's name (OSS PostObject `key`). */
export function substituteFilename(key: string, filename: string): string {
  return key.split('${filename}').join(filename);
}
