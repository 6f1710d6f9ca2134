/**
 * CopyObject rules shared by the backends: what the target gets of the source's ACL, storage class
 * and restore when the request names none (object-store.ts `copyObject`, where the FIDELITY notes
 * are). Tags and metadata are simpler (the request's, else the source's) and stay with each
 * backend's own encoding of them.
 */
import type { ObjectAcl, ObjectSettings, StorageClass } from './object-store.ts';

export interface CopyTarget {
  acl: ObjectAcl;
  storageClass: StorageClass;
  /** Only a copy onto itself that keeps its class keeps the source's RestoreObject state. */
  keepsRestore: boolean;
}

export function copyTarget(options: {
  source: { acl: ObjectAcl; storageClass: StorageClass };
  ontoItself: boolean;
  /** The target bucket's class: a new target's default. */
  bucketClass: StorageClass;
  settings: ObjectSettings;
}): CopyTarget {
  const { source, ontoItself, bucketClass, settings } = options;
  // A new target is a new object: `default` ACL and its bucket's class; onto itself, a copy that
  // only changes metadata loses neither.
  const storageClass = settings.storageClass ?? (ontoItself ? source.storageClass : bucketClass);
  return {
    acl: settings.acl ?? (ontoItself ? source.acl : 'default'),
    storageClass,
    keepsRestore: ontoItself && storageClass === source.storageClass,
  };
}
