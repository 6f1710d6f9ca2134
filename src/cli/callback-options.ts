/**
 * The callback flags shared by `upcall put` and `upcall presign`, turned into the callback
 * parameters of SPEC.md §2 by the client's builder.
 *
 * Without `--callback-body` the body is a default template naming every system fact the
 * dashboard shows plus each `--var` (`x:name=${x:name}`), in the chosen body type, so
 * `--callback-url` alone already gives a useful callback. Invariant: `--var`, `--callback-body`
 * and the other callback flags without a `--callback-url` are a usage error, not silently dropped.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { buildCallbackParams, parseVarPairs, type CallbackParams } from '../client/callback-params.ts';
import type { CallbackBodyType } from '../callback/parse-callback.ts';
import { UsageError } from './connection.ts';

export interface CallbackFlags {
  callbackUrl?: string[];
  callbackBody?: string;
  callbackBodyType?: CallbackBodyType;
  callbackHost?: string;
  callbackSni?: boolean;
  var?: string[];
}

const SYSTEM_FIELDS = ['bucket', 'object', 'etag', 'size', 'mimeType'] as const;
const IMAGE_FIELDS = ['imageInfo.height', 'imageInfo.width', 'imageInfo.format'] as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--var name=value`; a bare `--var name` is a mistake (a forgotten value), not an empty variable. */
function collectVar(value: string, previous: string[] | undefined): string[] {
  const at = value.indexOf('=');
  if (at <= 0) {
    throw new InvalidArgumentError(
      at === 0
        ? `expected name=value, got ${JSON.stringify(value)} (the name is missing)`
        : `expected name=value, got ${JSON.stringify(value)}; write --var ${value}=<value> (or ${value}= for an empty value)`,
    );
  }
  return collect(value, previous);
}

export function parseBodyType(value: string): CallbackBodyType {
  switch (value.toLowerCase()) {
    case 'form':
    case 'application/x-www-form-urlencoded':
      return 'application/x-www-form-urlencoded';
    case 'json':
    case 'application/json':
      return 'application/json';
    default:
      throw new InvalidArgumentError(
        'expected form, json, application/x-www-form-urlencoded or application/json',
      );
  }
}

export function addCallbackOptions(command: Command): Command {
  return command
    .option(
      '--callback-url <url>',
      'ask the storage server to call this URL after the upload (repeat for up to 5 fallbacks)',
      collect,
    )
    .option(
      '--callback-body <template>',
      'callback body template, e.g. "object=${object}&size=${size}&device=${x:device}"',
    )
    .option('--callback-body-type <type>', 'form (default) or json', parseBodyType)
    .option('--callback-host <host>', 'Host header for the callback request')
    .option('--callback-sni', 'send SNI when the callback URL is https')
    .option('--var <name=value>', 'custom callback variable x:name (repeatable)', collectVar);
}

/** The default template: system facts and every custom variable, in the body type's syntax. */
export function defaultCallbackBody(bodyType: CallbackBodyType, varNames: readonly string[]): string {
  const names = [...SYSTEM_FIELDS, ...IMAGE_FIELDS];
  const vars = varNames.map((name) => (name.startsWith('x:') ? name : `x:${name}`));
  if (bodyType === 'application/json') {
    // §3.3: string variables render as quoted JSON strings and size as a number; image sizes
    // may be empty for non-images, so they are quoted to keep the body valid JSON.
    const parts = [
      ...SYSTEM_FIELDS.map((name) => `${JSON.stringify(name)}:\${${name}}`),
      ...IMAGE_FIELDS.map((name) => `${JSON.stringify(name)}:"\${${name}}"`),
      ...vars.map((name) => `${JSON.stringify(name)}:\${${name}}`),
    ];
    return `{${parts.join(',')}}`;
  }
  return [...names, ...vars].map((name) => `${name}=\${${name}}`).join('&');
}

/** undefined when no callback was asked for. @throws UsageError for callback flags without a URL */
export function callbackFromFlags(flags: CallbackFlags): CallbackParams | undefined {
  const urls = flags.callbackUrl ?? [];
  if (urls.length === 0) {
    const stray = (
      [
        ['--callback-body', flags.callbackBody],
        ['--callback-body-type', flags.callbackBodyType],
        ['--callback-host', flags.callbackHost],
        ['--callback-sni', flags.callbackSni],
        ['--var', flags.var],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (stray) throw new UsageError(`${stray[0]} needs --callback-url`);
    return undefined;
  }
  const vars = parseVarPairs(flags.var ?? []);
  const bodyType = flags.callbackBodyType ?? 'application/x-www-form-urlencoded';
  return buildCallbackParams({
    url: urls,
    body: flags.callbackBody ?? defaultCallbackBody(bodyType, Object.keys(vars)),
    bodyType,
    host: flags.callbackHost,
    sni: flags.callbackSni,
    vars,
  });
}
