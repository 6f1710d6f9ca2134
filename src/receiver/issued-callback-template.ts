/**
 * Whether a verified callback's body is a rendering of a callback template this receiver issued
 * (issue 14, item 2): the answer behind a record's `templateIssued` flag.
 *
 * A callback body is the uploader's template with the server's values filled in; the signature
 * proves only that the storage server sent it. The receiver binds its own template into every
 * credential and post policy it issues, and the storage server refuses any other callback with
 * them (security-token.ts). So a body shaped like the issued template, where every placeholder's
 * place holds one rendered value (form: no raw `&`; JSON: one string's worth of text), came from
 * that template as far as those credentials go. The check cannot tell a rendered value from the
 * same text typed as a literal by someone using other credentials (a root key, tokens minted
 * without the binding): docs/receiver.md "Threat" says so.
 * Pure: templates are compiled to one anchored regular expression each, once.
 */
import type { CallbackBodyType } from '../callback/parse-callback.ts';

export interface IssuedCallbackTemplate {
  /** The callbackBody template, e.g. DEFAULT_POLICY_CALLBACK_BODY. */
  body: string;
  /** Default form encoding, as OSS assumes (SPEC.md §2.2). */
  bodyType?: CallbackBodyType;
}

// Form values are percent-encoded (render-callback-body.ts formEncode): never a raw `&`.
const FORM_VALUE = '[^&]*';
// JSON values are a string literal (a bare `${object}`), or escaped text inside a string of the
// template's own, or a bare number: never an unescaped `"` outside a string literal.
const JSON_VALUE = '(?:"(?:[^"\\\\]|\\\\.)*"|(?:[^"\\\\]|\\\\.)*)';

/**
 * Longest body tested. A rendered issued template is a few KiB at most (a 5 KiB template, values
 * such as a 1 KiB key); a bound keeps the regular expressions' work small whatever arrives.
 */
const MAX_MATCHED_BODY_BYTES = 64 * 1024;

export type IssuedTemplateMatcher = (body: Uint8Array, contentType: string | undefined) => boolean;

export function createIssuedTemplateMatcher(
  templates: readonly IssuedCallbackTemplate[],
): IssuedTemplateMatcher {
  const compiled = templates.map((template) => {
    const bodyType = template.bodyType ?? 'application/x-www-form-urlencoded';
    const value = bodyType === 'application/json' ? JSON_VALUE : FORM_VALUE;
    const pattern = template.body
      .split(/\$\{[^}]*\}/)
      .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join(value);
    return { bodyType, regex: new RegExp(`^${pattern}$`, 's') };
  });
  return (body, contentType) => {
    if (compiled.length === 0 || body.byteLength > MAX_MATCHED_BODY_BYTES) return false;
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    return compiled.some((t) => t.bodyType === type && t.regex.test(text));
  };
}
