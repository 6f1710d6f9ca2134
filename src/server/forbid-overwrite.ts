/**
 * `x-oss-forbid-overwrite` (PutObject, CopyObject, InitiateMultipartUpload and
 * CompleteMultipartUpload as a header; PostObject as a form field): `true` refuses to replace an
 * existing object with 409 FileAlreadyExists. The store checks it as a precondition of its commit
 * (ObjectStore OverwriteOptions), so of racing uploads to a new key exactly one wins; this module
 * only reads the value.
 *
 * OSS accepts only `true` and `false` (EC 0017-00000279 for the header, 0006-00000117 for the
 * PostObject field); anything else is 400 InvalidArgument rather than a silent "false".
 */
import { ossError } from '../shared/oss-error.ts';
import { header, type RequestContext } from './pipeline/request-context.ts';

const NAME = 'x-oss-forbid-overwrite';

/** @throws InvalidArgument (400) when the header is neither `true` nor `false`. */
export function forbidsOverwrite(ctx: Pick<RequestContext, 'headers'>): boolean {
  return parseForbidOverwrite(header(ctx, NAME), '0017-00000279');
}

/** The PostObject form field of the same name. @throws InvalidArgument (400) as forbidsOverwrite. */
export function formForbidsOverwrite(fields: ReadonlyMap<string, string>): boolean {
  return parseForbidOverwrite(fields.get(NAME), '0006-00000117');
}

function parseForbidOverwrite(value: string | undefined, ec: string): boolean {
  if (value === undefined) return false;
  // FIDELITY: OSS documents the values as `true`/`false` (SPEC is silent on case and on an empty
  // value); upcall compares case-insensitively and, as before, reads an empty value as false.
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false' || normalized === '') return false;
  // FIDELITY: the EC is documented; OSS's exact message text is not, so this wording is upcall's.
  throw ossError('InvalidArgument', {
    message: 'The value of x-oss-forbid-overwrite must be true or false.',
    details: { ArgumentName: NAME, ArgumentValue: value, EC: ec },
  });
}
