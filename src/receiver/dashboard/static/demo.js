/* global document, window, XMLHttpRequest, DOMParser, DataTransfer */
// The browser demo: PostObject with a post policy from the receiver, and the mobile flow
// (temporary credentials + the ali-oss browser build with a callback). Both upload straight to
// the storage server and show the JSON the app server returned through the callback.
// PostObject needs no CORS from the storage server: when its preflight is refused (a storage server
// without CORS rules for this origin), the form is posted as a plain form into a hidden frame and
// the outcome read from this receiver's own records instead.

const $ = (id) => document.getElementById(id);
const fileInput = $('file');
$('device').value = navigator.userAgent.includes('Headless') ? 'headless-chromium' : 'browser';

function vars() {
  return { device: $('device').value, app_version: $('app-version').value, location: $('location').value };
}

function show(prefix, kind, text, result) {
  const status = $(`${prefix}-status`);
  status.className = `status-line ${kind}`;
  status.textContent = text;
  if (result !== undefined) $(`${prefix}-result`).textContent = result;
}

/** Success: the reply, and a link to the upload's record on the dashboard. */
function showStored(prefix, key, replyText, id) {
  show(prefix, 'ok', `Stored as ${key}; the app server replied:`, pretty(replyText));
  if (id === undefined) return;
  const link = document.createElement('a');
  link.href = `/dashboard/uploads/${encodeURIComponent(id)}`;
  link.className = 'record-link';
  link.textContent = `see record #${id} on the dashboard`;
  $(`${prefix}-status`).append(' ', link);
}

/**
 * What to fix after a 203 CallbackFailed (the object is stored either way). The same causes
 * `upcall put` explains (src/cli/callback-failure-hint.ts), for the messages a browser sees.
 */
function callbackFailureHint(message) {
  if (/reply timeout|Cost too long/i.test(message))
    return 'The app server did not answer within 5 s: reply first, do slow work afterwards.';
  if (/Error status : -1|Error status : 502/i.test(message))
    return 'The storage server could not connect to the callback URL: is the receiver running and reachable from the storage server (its --public-url)?';
  if (/not valid json/i.test(message))
    return 'The app server must answer 200 with a JSON body (e.g. {"Status":"OK"}).';
  const status = /Error status : (\d+)/i.exec(message)?.[1];
  if (status === '400' || status === '401' || status === '403')
    return `The receiver refused the callback (${status}): does it trust the storage server's key URL (--allow-key-url)?`;
  if (status !== undefined) return `The app server answered ${status}; OSS requires exactly 200.`;
  return 'See the README, "Troubleshooting", for the causes of 203 CallbackFailed.';
}

/** What to fix when this receiver refused a callback (CallbackVerificationError reasons). */
function refusalHint(reason) {
  if (reason === 'key-host-not-allowed')
    return 'It does not trust the key URL the storage server signs with: add it with --allow-key-url (upcall server prints it as "callback key URL").';
  if (reason === 'key-fetch-failed')
    return "It could not fetch the storage server's public key: is that URL reachable from here?";
  if (reason === 'signature-mismatch')
    return 'The signature does not match: does a proxy between them change the body, the path or the Authorization header?';
  return 'The dashboard record shows the request it got.';
}

function showCallbackFailed(prefix, message) {
  show(prefix, 'bad', `Stored, but the callback failed (203). ${callbackFailureHint(message)}`, message);
}

/** The id of the record this receiver made for `key`, waiting up to `ms` for its callback. */
async function recordFor(key, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const page = await getJson(`/api/uploads?${new URLSearchParams({ prefix: key, limit: '5' })}`);
    const found = page.uploads.find((u) => u.object === key);
    if (found || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Posts `form` as a plain HTML form into a hidden frame: a navigation, which needs no CORS. The
 * storage server's reply stays unreadable (another origin), so the record tells what happened.
 */
async function postAsPlainForm(action, fields, file) {
  const frame = document.createElement('iframe');
  frame.name = `upload-${Date.now()}`;
  frame.hidden = true;
  document.body.append(frame);
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = action;
  form.enctype = 'multipart/form-data';
  form.target = frame.name;
  form.hidden = true;
  for (const [name, value] of fields) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.append(input);
  }
  const input = document.createElement('input');
  input.type = 'file';
  input.name = 'file';
  const files = new DataTransfer();
  files.items.add(file);
  input.files = files.files;
  form.append(input); // the file must be the last field
  document.body.append(form);
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
  form.submit();
  await loaded;
  form.remove();
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function errorFromXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const code = doc.querySelector('Code')?.textContent;
  const message = doc.querySelector('Message')?.textContent;
  return code ? `${code}: ${message ?? ''}` : text.slice(0, 300);
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

let configured = true;
// The ali-oss browser build comes from /vendor/aliyun-oss-sdk.min.js; without it (ali-oss missing
// where upcall runs) only the PostObject flow can work, and the page says how to get the other.
const sdkLoaded = typeof window.OSS === 'function';
fileInput.addEventListener('change', () => {
  const ready = fileInput.files.length > 0 && configured;
  $('post-upload').disabled = !ready;
  $('sts-upload').disabled = !ready || !sdkLoaded;
});
if (!sdkLoaded) {
  fetch('/vendor/aliyun-oss-sdk.min.js').then(
    async (response) =>
      show('sts', 'bad', response.ok ? 'The ali-oss browser build did not load.' : await response.text()),
    () => show('sts', 'bad', 'The ali-oss browser build did not load (install ali-oss where upcall runs).'),
  );
}

// Without a storage endpoint the receiver issues no credentials: say how to turn them on.
getJson('/dashboard/config.json').then(
  (config) => {
    if (config.endpoint) return;
    configured = false;
    const hint =
      'This receiver issues no credentials or policies. Start it with --storage-endpoint URL --bucket NAME ' +
      'and the root key in UPCALL_ACCESS_KEY_ID / UPCALL_ACCESS_KEY_SECRET (or run upcall dev).';
    show('post', 'bad', hint);
    show('sts', 'bad', hint);
  },
  () => undefined,
);

// --- 1. PostObject with a policy signed by the app server (SPEC §7.2, §10.2) ---
$('post-upload').addEventListener('click', async () => {
  const file = fileInput.files[0];
  $('post-progress').style.width = '0';
  show('post', '', 'Asking the app server for a post policy…', '');
  let policy;
  try {
    const query = new URLSearchParams({ user: 'demo', filename: file.name });
    policy = await getJson(`/api/post-policy?${query}`);
  } catch (error) {
    show('post', 'bad', error.message);
    return;
  }
  const key = `${policy.dir ?? ''}${Date.now()}-${file.name}`;
  const fields = [
    ['key', key],
    ['policy', policy.policy],
  ];
  if (policy.x_oss_signature_version) {
    fields.push(['x-oss-signature-version', policy.x_oss_signature_version]);
    fields.push(['x-oss-credential', policy.x_oss_credential]);
    fields.push(['x-oss-date', policy.x_oss_date]);
    fields.push(['x-oss-signature', policy.signature]);
    if (policy.security_token) fields.push(['x-oss-security-token', policy.security_token]);
  } else {
    fields.push(['OSSAccessKeyId', policy.accessid]);
    fields.push(['signature', policy.signature]);
  }
  fields.push(['success_action_status', '200']);
  if (policy.callback) fields.push(['callback', policy.callback]);
  for (const [name, value] of Object.entries(vars())) fields.push([`x:${name}`, value]);
  if (file.type) fields.push(['Content-Type', file.type]);
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  form.append('file', file); // the file must be the last field

  show('post', '', `Uploading ${file.name} to ${policy.host}…`);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', policy.host);
  xhr.upload.addEventListener('progress', (event) => {
    if (event.lengthComputable) $('post-progress').style.width = `${(event.loaded / event.total) * 100}%`;
  });
  xhr.addEventListener('load', () => {
    $('post-progress').style.width = '100%';
    if (xhr.status === 200) {
      let id;
      try {
        id = JSON.parse(xhr.responseText).id;
      } catch {
        // A custom reply without an id: no link.
      }
      showStored('post', key, xhr.responseText, typeof id === 'number' ? id : undefined);
    } else if (xhr.status === 203) showCallbackFailed('post', errorFromXml(xhr.responseText));
    else show('post', 'bad', `Upload failed (HTTP ${xhr.status}):`, errorFromXml(xhr.responseText));
  });
  // The progress listener makes this a CORS request with a preflight, so an error here means
  // nothing was sent: the storage server is down, or allows no browser origin (no CORS rules).
  xhr.addEventListener('error', async () => {
    show('post', '', `The storage server allows no cross-origin reads here (CORS); posting a plain form…`);
    try {
      await postAsPlainForm(policy.host, fields, file);
      $('post-progress').style.width = '100%';
      const record = await recordFor(key, 5000);
      if (record === undefined) {
        show(
          'post',
          'bad',
          `No callback was recorded for ${key}: is the storage server running at ${policy.host}, and can it reach this receiver?`,
        );
      } else if (!record.verified) {
        // The storage server then answered 203 CallbackFailed: the object is stored.
        show(
          'post',
          'bad',
          `Stored, but this receiver refused its callback (${record.rejectReason}), so the upload got 203 CallbackFailed. ${refusalHint(record.rejectReason)}`,
        );
      } else showStored('post', key, JSON.stringify(record.reply ?? null), record.id);
    } catch (error) {
      show('post', 'bad', error.message);
    }
  });
  xhr.send(form);
});

// --- 2. Mobile flow: temporary credentials + ali-oss browser SDK + callback (SPEC §8, §10.1) ---
$('sts-upload').addEventListener('click', async () => {
  const file = fileInput.files[0];
  $('sts-progress').style.width = '0';
  show('sts', '', 'Asking the app server for temporary credentials…', '');
  let credentials;
  let config;
  try {
    [credentials, config] = await Promise.all([getJson('/sts?user=demo'), getJson('/dashboard/config.json')]);
    if (credentials.StatusCode !== undefined && credentials.StatusCode !== 200) {
      throw new Error(`${credentials.ErrorCode}: ${credentials.ErrorMessage}`);
    }
  } catch (error) {
    show('sts', 'bad', error.message);
    return;
  }
  const client = new window.OSS({
    endpoint: config.endpoint,
    region: config.region,
    bucket: config.bucket,
    sldEnable: true, // path-style URLs: the endpoint is an IP address, not *.aliyuncs.com
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
    secure: config.endpoint.startsWith('https:'),
  });
  // The credentials bind one callback (URL, template, body type): the storage server refuses any
  // other, so the app server knows the body's facts come from the server, not from this page.
  const issued = JSON.parse(atob(credentials.Callback));
  const key = `${config.prefix ?? ''}mobile/${Date.now()}-${file.name}`;
  show('sts', '', `Uploading ${file.name} with ali-oss…`);
  try {
    const result = await client.multipartUpload(key, file, {
      mime: file.type || undefined,
      progress: (p) => {
        $('sts-progress').style.width = `${p * 100}%`;
      },
      callback: {
        url: issued.callbackUrl,
        body: issued.callbackBody,
        contentType: issued.callbackBodyType,
        customValue: vars(),
      },
    });
    $('sts-progress').style.width = '100%';
    const id = result.data && typeof result.data.id === 'number' ? result.data.id : undefined;
    showStored('sts', key, JSON.stringify(result.data), id);
  } catch (error) {
    if (error.status === 203 || error.name === 'CallbackFailedError') {
      showCallbackFailed('sts', `${error.code ?? error.name}: ${error.message}`);
    } else if (error.status === -1 || /XHR error|Network/i.test(error.message)) {
      // ali-oss sends its own headers, so every request needs a CORS preflight the storage
      // server must allow; there is no plain-form way around it.
      show(
        'sts',
        'bad',
        'The storage server refused this page cross-origin access (CORS): run upcall dev, or give the bucket CORS rules for this origin. The PostObject flow works without them.',
        `${error.code ?? error.name}: ${error.message}`,
      );
    } else show('sts', 'bad', 'Upload failed:', `${error.code ?? error.name}: ${error.message}`);
  }
});
