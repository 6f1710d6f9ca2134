/**
 * GetObjectTagging's `Tagging` document: `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` in the
 * order the tags were set (an empty `TagSet` when there are none, which ali-oss reads as `{}`).
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { ObjectTag } from '../../store/object-store.ts';

export function taggingResult(tags: readonly ObjectTag[]): string {
  return renderXml(
    el('Tagging', el('TagSet', ...tags.map((tag) => el('Tag', el('Key', tag.key), el('Value', tag.value))))),
  );
}
