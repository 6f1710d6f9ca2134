/**
 * What `upcall dev` prints once both servers listen: where everything is, the credentials, and
 * ready-to-paste commands (CLI, curl via a presigned URL, ali-oss) that upload with a callback.
 * Pure: the text is built from the session, so a test can check every snippet is consistent.
 */
import type { DevSession } from './connection.ts';

export interface BannerInput extends DevSession {
  dataDir: string;
  region: string;
  credentialSource: 'env' | 'generated' | 'stored';
  /** The receiver's API token, when it requires one (off loopback). */
  apiToken?: string;
  /** How the user runs the CLI from here (cli-invocation.ts): `npx upcall`, `node bin/upcall.js`. */
  cli: string;
}

export function devBanner(s: BannerInput): string {
  const body = 'bucket=${bucket}&object=${object}&size=${size}&mimeType=${mimeType}&device=${x:device}';
  const where =
    s.credentialSource === 'env' ? 'from UPCALL_ACCESS_KEY_*' : `kept in ${s.dataDir}/credentials.json`;
  return `
upcall dev is running (data in ${s.dataDir})

  Storage endpoint   ${s.endpoint}
  Bucket             ${s.bucket}
  AccessKeyId        ${s.accessKeyId}
  AccessKeySecret    ${s.accessKeySecret}   (${where})
  Callback URL       ${s.callbackUrl}
  Dashboard          ${s.dashboardUrl}
  Browser demo       ${s.receiverUrl}/demo
  Callback key URL   ${s.keyUrl}
${
  s.apiToken === undefined
    ? ''
    : `  Receiver API token ${s.apiToken}   (Authorization: Bearer; the dashboard link signs in)
`
}
Upload with a callback from another terminal (it finds this session by itself):
  ${s.cli} put package.json oss://${s.bucket}/ --callback-url ${s.callbackUrl} --var device=laptop

ali-oss (Node): save as upload.mjs in a project with ali-oss installed (npm install ali-oss),
then run node upload.mjs. An ES module, because it awaits at the top level.
  import OSS from 'ali-oss';
  const client = new OSS({
    endpoint: '${s.endpoint}',
    region: '${s.region}',
    bucket: '${s.bucket}',
    accessKeyId: '${s.accessKeyId}',
    accessKeySecret: '${s.accessKeySecret}',
  });
  const result = await client.put('hello.txt', Buffer.from('hello'), {
    callback: {
      url: '${s.callbackUrl}',
      body: '${body}',
      contentType: 'application/x-www-form-urlencoded',
      customValue: { device: 'laptop' },
    },
  });
  console.log(result.data); // the JSON your app server replied

Press Ctrl-C to stop both servers.
`;
}
