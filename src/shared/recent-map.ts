/**
 * A Map that keeps at most `limit` entries, dropping the oldest first: a bounded memo for values
 * that repeat from one request to the next (parsed callback parameters, compiled templates).
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
