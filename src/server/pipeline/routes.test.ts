import { describe, expect, it } from 'vitest';
import { isOssError } from '../../shared/oss-error.ts';
import { matchRoute, ROUTES, ROUTING_SUBRESOURCES, type Route } from './routes.ts';

function requestFor(route: Route) {
  const query = new URLSearchParams();
  for (const name of route.subresources ?? []) query.set(name, name === 'list-type' ? '2' : '1');
  const headers = new Set(route.headers ?? []);
  return {
    method: route.method,
    target: route.target,
    query,
    hasHeader: (name: string) => headers.has(name),
  };
}

describe('the routing table', () => {
  it('resolves every row to itself', () => {
    for (const route of ROUTES) {
      const matched = matchRoute(requestFor(route));
      expect(matched.action, `${route.method} ${route.target} ${route.action}`).toBe(route.action);
      expect(matched.method).toBe(route.method);
    }
  });

  it('has no two rows with the same method, target, sub-resources and headers', () => {
    const seen = new Set<string>();
    for (const route of ROUTES) {
      const id = [
        route.method,
        route.target,
        [...(route.subresources ?? [])].sort().join('&'),
        [...(route.headers ?? [])].sort().join('&'),
      ].join(' ');
      expect(seen.has(id), id).toBe(false);
      seen.add(id);
    }
  });

  it('lists only known routing sub-resources (or list-type) on rows', () => {
    for (const route of ROUTES) {
      for (const name of [...(route.subresources ?? []), ...(route.optionalSubresources ?? [])]) {
        expect(ROUTING_SUBRESOURCES.has(name) || name === 'list-type', name).toBe(true);
      }
    }
  });

  it('prefers the more specific row: copy over put, objectMeta over head', () => {
    const put = { method: 'PUT', target: 'object' as const, query: new URLSearchParams() };
    expect(matchRoute({ ...put, hasHeader: () => false }).action).toBe('PutObject');
    expect(matchRoute({ ...put, hasHeader: (n) => n === 'x-oss-copy-source' }).action).toBe('CopyObject');
    const head = { method: 'HEAD', target: 'object' as const, hasHeader: () => false };
    expect(matchRoute({ ...head, query: new URLSearchParams() }).action).toBe('HeadObject');
    expect(matchRoute({ ...head, query: new URLSearchParams('objectMeta') }).action).toBe('GetObjectMeta');
  });

  it('ignores non-routing parameters such as response-* and callback', () => {
    const query = new URLSearchParams('response-content-type=a&callback=x&OSSAccessKeyId=k&Expires=1');
    expect(matchRoute({ method: 'GET', target: 'object', query, hasHeader: () => false }).action).toBe(
      'GetObject',
    );
  });

  it('answers NotImplemented for a sub-resource without a row, never the plain operation', () => {
    for (const sub of ['symlink', 'restore', 'worm']) {
      const query = new URLSearchParams(sub);
      try {
        matchRoute({ method: 'GET', target: 'object', query, hasHeader: () => false });
        expect.unreachable(sub);
      } catch (error) {
        expect(isOssError(error) && error.code, sub).toBe('NotImplemented');
      }
    }
  });

  it('answers MethodNotAllowed for a method OSS lacks', () => {
    try {
      matchRoute({ method: 'PATCH', target: 'object', query: new URLSearchParams(), hasHeader: () => false });
      expect.unreachable();
    } catch (error) {
      expect(isOssError(error) && error.code).toBe('MethodNotAllowed');
      expect(isOssError(error) && error.details).toEqual({ Method: 'PATCH', ResourceType: 'Object' });
    }
  });
});
