/* global document, window, XMLHttpRequest, DOMParser */
// The browser demo: PostObject with a post policy from the receiver, and the mobile flow
// (temporary credentials + the ali-oss browser build with a callback). Both upload straight to
// the storage server and show the JSON the app server returned through the callback.

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

fileInput.addEventListener('change', () => {
  const ready = fileInput.files.length > 0;
  $('post-upload').disabled = !ready;
  $('sts-upload').disabled = !ready;
});

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
  const form = new FormData();
  const key = `${policy.dir ?? ''}${Date.now()}-${file.name}`;
  form.append('key', key);
  form.append('policy', policy.policy);
  if (policy.x_oss_signature_version) {
    form.append('x-oss-signature-version', policy.x_oss_signature_version);
    form.append('x-oss-credential', policy.x_oss_credential);
    form.append('x-oss-date', policy.x_oss_date);
    form.append('x-oss-signature', policy.signature);
    if (policy.security_token) form.append('x-oss-security-token', policy.security_token);
  } else {
    form.append('OSSAccessKeyId', policy.accessid);
    form.append('signature', policy.signature);
  }
  form.append('success_action_status', '200');
  if (policy.callback) form.append('callback', policy.callback);
  for (const [name, value] of Object.entries(vars())) form.append(`x:${name}`, value);
  if (file.type) form.append('Content-Type', file.type);
  form.append('file', file); // the file must be the last field

  show('post', '', `Uploading ${file.name} to ${policy.host}…`);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', policy.host);
  xhr.upload.addEventListener('progress', (event) => {
    if (event.lengthComputable) $('post-progress').style.width = `${(event.loaded / event.total) * 100}%`;
  });
  xhr.addEventListener('load', () => {
    $('post-progress').style.width = '100%';
    if (xhr.status === 200)
      show('post', 'ok', `Stored as ${key}; the app server replied:`, pretty(xhr.responseText));
    else if (xhr.status === 203)
      show('post', 'bad', 'Stored, but the callback failed (203):', errorFromXml(xhr.responseText));
    else show('post', 'bad', `Upload failed (HTTP ${xhr.status}):`, errorFromXml(xhr.responseText));
  });
  xhr.addEventListener('error', () =>
    show(
      'post',
      'bad',
      'Network error: is the storage server running, and does it allow this origin (CORS)?',
    ),
  );
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
    [credentials, config] = await Promise.all([getJson('/sts'), getJson('/dashboard/config.json')]);
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
    show('sts', 'ok', `Stored as ${key}; the app server replied:`, JSON.stringify(result.data, null, 2));
  } catch (error) {
    const failed = error.status === 203 || error.name === 'CallbackFailedError';
    show(
      'sts',
      'bad',
      failed ? 'Stored, but the callback failed (203):' : 'Upload failed:',
      `${error.code ?? error.name}: ${error.message}`,
    );
  }
});
