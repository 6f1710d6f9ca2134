/**
 * RestoreObject (`POST /key?restore`, optional `<RestoreRequest><Days/><JobParameters><Tier/>…`
 * body): makes an Archive, ColdArchive or DeepColdArchive object readable for `Days` days (default
 * 1) once the restore completes, which takes the server's restore delay (`--restore-delay`,
 * ServerDeps.restoreDelayMs), so apps can exercise their restore flow locally.
 *
 * OSS answers: 202 when a restore starts; 409 RestoreAlreadyInProgress while one runs; 200 once
 * restored, extending how long it stays readable; 400 OperationNotSupported for other classes.
 * Days is 1…7 for Archive and 1…365 for the cold classes; Tier is Expedited, Standard or Bulk.
 */
import { ossError } from '../../shared/oss-error.ts';
import { childText, parseXml, singleElement } from '../../shared/xml.ts';
import type { StorageClass } from '../../store/object-store.ts';
import { requireObject } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { isArchiveClass, restoreState } from '../storage-class.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_RESTORE_BODY_BYTES = 16 * 1024;
const TIERS: ReadonlySet<string> = new Set(['Expedited', 'Standard', 'Bulk']);

export const restoreObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const object = await deps.store.headObject(bucket, key);
  const days = parseRestoreRequest(await readXmlBody(ctx.body, MAX_RESTORE_BODY_BYTES), object.storageClass);
  if (!isArchiveClass(object.storageClass)) {
    throw ossError('OperationNotSupported', {
      message: `The storage class of the object is ${object.storageClass}; only archived objects can be restored.`,
      details: { Key: key },
    });
  }
  const now = deps.now();
  switch (restoreState(object, now)) {
    case 'ongoing':
      throw ossError('RestoreAlreadyInProgress', { details: { Key: key } });
    case 'restored': {
      // FIDELITY: OSS says a repeated restore "prolongs" the restored state; upcall makes it last
      // `Days` from now, never shorter than it already was.
      const expiresAt = new Date(
        Math.max(object.restore!.expiresAt.getTime(), now.getTime() + days * DAY_MS),
      );
      await deps.store.setObjectRestore(bucket, key, { readyAt: object.restore!.readyAt, expiresAt });
      return { status: 200 };
    }
    case 'none': {
      // FIDELITY: one delay for every class and Tier (real OSS takes minutes to hours, by both).
      const readyAt = new Date(now.getTime() + deps.restoreDelayMs);
      await deps.store.setObjectRestore(bucket, key, {
        readyAt,
        expiresAt: new Date(readyAt.getTime() + days * DAY_MS),
      });
      return { status: 202 };
    }
  }
};

/** The restore's Days (1 without a body). @throws MalformedXML | InvalidArgument */
function parseRestoreRequest(body: string, storageClass: StorageClass): number {
  if (body.trim() === '') return 1;
  const request = singleElement(parseXml(body, MAX_RESTORE_BODY_BYTES)['RestoreRequest']);
  const maxDays = storageClass === 'Archive' ? 7 : 365;
  const daysText = childText(request, 'Days');
  let days = 1;
  if (daysText !== undefined) {
    days = /^\s*[0-9]{1,4}\s*$/.test(daysText) ? Number(daysText) : NaN;
    if (!(days >= 1 && days <= maxDays)) {
      throw ossError('InvalidArgument', {
        message: `Days must be an integer from 1 to ${maxDays} for ${storageClass} objects.`,
        details: { ArgumentName: 'Days', ArgumentValue: daysText },
      });
    }
  }
  const job = request['JobParameters'];
  if (job !== undefined) {
    const tier = childText(singleElement(job), 'Tier');
    if (tier !== undefined && !TIERS.has(tier.trim())) {
      throw ossError('InvalidArgument', {
        message: 'Tier must be Expedited, Standard or Bulk.',
        details: { ArgumentName: 'Tier', ArgumentValue: tier },
      });
    }
  }
  return days;
}
