/**
 * Server-side encryption on the wire (OSS SSE-OSS): the `x-oss-server-side-encryption` request
 * header (PutObject, PostObject's form field of that name, AppendObject, InitiateMultipartUpload,
 * CopyObject), the bucket default of PutBucketEncryption applied when a request names none, the
 * header echoed on PUT / HEAD / GET, and the `ServerSideEncryptionRule` document. The cipher
 * itself is the store's (src/store/encryption/).
 *
 * Invariant: a request asking for encryption upcall cannot give (KMS, SM4: there is no key
 * service) is refused, never stored in the clear.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ossError } from '../shared/oss-error.ts';
import { childElements, childText, el, renderXml, singleElement } from '../shared/xml.ts';
import type {
  BucketEncryption,
  ObjectSettings,
  ObjectStore,
  ServerSideEncryption,
  StoredObject,
} from '../store/object-store.ts';
import { parseBucketConfiguration } from './bucket-configuration-document.ts';
import type { HeaderValue } from './pipeline/request-context.ts';

export const SSE_HEADER = 'x-oss-server-side-encryption';
/** A ServerSideEncryptionRule is a few hundred bytes. */
export const MAX_ENCRYPTION_BODY_BYTES = 16 * 1024;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The algorithm a request or rule names. AES256 is SSE-OSS. KMS (and SM4, KMS's other data
 * cipher) are OSS values that need Alibaba Cloud KMS.
 * FIDELITY: without a key service, KMS and SM4 are 400 InvalidArgument naming the header or
 * element (OSS would use KMS); any other value is InvalidEncryptionAlgorithmError, as OSS.
 * @throws InvalidArgument | InvalidEncryptionAlgorithmError
 */
function algorithm(value: string, name: string): ServerSideEncryption {
  const trimmed = value.trim();
  if (trimmed === 'AES256') return 'AES256';
  if (trimmed === 'KMS' || trimmed === 'SM4') {
    throw ossError('InvalidArgument', {
      message: `upcall has no key management service, so ${name} ${trimmed} is not supported; use AES256 (SSE-OSS).`,
      details: { ArgumentName: name, ArgumentValue: value },
    });
  }
  throw ossError('InvalidEncryptionAlgorithmError', {
    details: { ArgumentName: name, ArgumentValue: value },
  });
}

/**
 * `x-oss-server-side-encryption`, or undefined when absent or empty. A KMS key id or data cipher
 * without KMS cannot be honoured either.
 * @throws InvalidArgument | InvalidEncryptionAlgorithmError
 */
export function serverSideEncryptionHeader(headers: IncomingHttpHeaders): ServerSideEncryption | undefined {
  const value = first(headers[SSE_HEADER]);
  for (const kms of ['x-oss-server-side-encryption-key-id', 'x-oss-server-side-data-encryption']) {
    const given = first(headers[kms]);
    if (given !== undefined && given.trim() !== '') {
      throw ossError('InvalidArgument', {
        message: `${kms} applies to KMS encryption, which upcall does not have; use ${SSE_HEADER}: AES256.`,
        details: { ArgumentName: kms, ArgumentValue: given },
      });
    }
  }
  if (value === undefined || value.trim() === '') return undefined;
  return algorithm(value, SSE_HEADER);
}

/**
 * `settings` with the bucket's default encryption when the request named none (OSS: "If the
 * x-oss-server-side-encryption header is not specified, the default encryption of the bucket is
 * applied").
 * @throws NoSuchBucket
 */
export async function withBucketEncryption(
  store: ObjectStore,
  bucket: string,
  settings: ObjectSettings,
): Promise<ObjectSettings> {
  if (settings.serverSideEncryption !== undefined) return settings;
  // 'write': a gateway answers from its bucket cache instead of a query per upload.
  const encryption = await store.getBucketSetting(bucket, 'encryption', 'write');
  return encryption === undefined ? settings : { ...settings, serverSideEncryption: encryption.algorithm };
}

/** `x-oss-server-side-encryption` on a response about `object`, when it is encrypted. */
export function encryptionHeaders(object: StoredObject): Record<string, HeaderValue> {
  return object.serverSideEncryption === undefined ? {} : { [SSE_HEADER]: object.serverSideEncryption };
}

/**
 * A PutBucketEncryption body.
 * @throws MalformedXML | InvalidArgument (KMSMasterKeyID or KMSDataEncryption with AES256; KMS) |
 *   InvalidEncryptionAlgorithmError
 */
export function parseServerSideEncryptionRule(text: string): BucketEncryption {
  const root = parseBucketConfiguration(text, {
    root: 'ServerSideEncryptionRule',
    maxBytes: MAX_ENCRYPTION_BODY_BYTES,
  });
  const defaults = childElements(root, 'ApplyServerSideEncryptionByDefault');
  if (defaults.length !== 1) throw ossError('MalformedXML');
  // An empty rule (`<ApplyServerSideEncryptionByDefault/>`) has no SSEAlgorithm: MalformedXML below.
  const rule = singleElement(defaults[0]);
  const sse = childText(rule, 'SSEAlgorithm');
  if (sse === undefined) throw ossError('MalformedXML');
  const chosen = algorithm(sse, 'SSEAlgorithm');
  for (const kms of ['KMSMasterKeyID', 'KMSDataEncryption']) {
    const given = childText(rule, kms);
    if (given !== undefined && given.trim() !== '') {
      // OSS's own message for a KMSMasterKeyID beside AES256.
      throw ossError('InvalidArgument', {
        message: `${kms} is not applicable if the default sse algorithm is not KMS`,
        details: { ArgumentName: kms, ArgumentValue: given },
      });
    }
  }
  return { algorithm: chosen };
}

/** GetBucketEncryption's document. */
export function serverSideEncryptionRuleResult(encryption: BucketEncryption): string {
  return renderXml(
    el(
      'ServerSideEncryptionRule',
      el(
        'ApplyServerSideEncryptionByDefault',
        el('SSEAlgorithm', encryption.algorithm),
        el('KMSMasterKeyID', ''),
      ),
    ),
  );
}
