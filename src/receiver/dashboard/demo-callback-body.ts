/**
 * The callback template the browser demo (`/demo`) needs bound into the receiver's credentials
 * and post policies (`ReceiverCredentials.callbackBody`): every upload fact plus the `x:`
 * variables the demo page sends, so they reach the record. `upcall dev` and `upcall receiver`
 * issue it; an app with its own clients issues its own.
 */
export const DEMO_CALLBACK_BODY = [
  'bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}',
  'imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}&imageInfo.format=${imageInfo.format}',
  'x:device=${x:device}&x:app_version=${x:app_version}&x:location=${x:location}',
].join('&');
