/**
 * GetObjectAcl's `AccessControlPolicy` document: the owner and the object's own ACL, `default`
 * when it follows the bucket's (what ali-oss `getACL` reads as `acl`).
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { ObjectAcl } from '../../store/object-store.ts';
import type { Owner } from '../pipeline/request-context.ts';

export function objectAclResult(input: { acl: ObjectAcl; owner: Owner }): string {
  return renderXml(
    el(
      'AccessControlPolicy',
      el('Owner', el('ID', input.owner.id), el('DisplayName', input.owner.displayName)),
      el('AccessControlList', el('Grant', input.acl)),
    ),
  );
}
