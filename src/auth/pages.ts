import { html, raw, type Html } from '../web/html.js';

/** The small pages of the access and token services (no bundle needed: they open in a popup or an iframe). */
function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} — Vitrine</title></head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.value;
}

/** The login form: the CSRF token and the viewer's origin travel with it. */
export function loginPage(action: string, csrf: string, origin: string, problem?: string): string {
  return page(
    'Log in',
    html`${problem ? html`<p role="alert">${problem}</p>` : ''}
<form method="post" action="${action}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="origin" value="${origin}">
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p>
</form>`,
  );
}

export function clickthroughPage(action: string, csrf: string, origin: string, terms: string): string {
  return page(
    'Terms of use',
    html`<p>${terms}</p>
<form method="post" action="${action}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="origin" value="${origin}">
<p><button type="submit">I accept these terms</button></p>
</form>`,
  );
}

/** Access granted (or refused): the window closes itself, as the flow expects of the access service. */
export function closingPage(title: string, message: string): string {
  return page(title, html`<p>${message}</p>
<script>window.close();</script>`);
}

export function messagePage(title: string, message: string): string {
  return page(title, html`<p>${message}</p>`);
}

/**
 * The token service's answer (Auth 2.0 § Access Token Service): a page in the client's iframe that
 * posts the message to its parent, addressed to the origin that asked (never '*', which would let
 * any page that frames us read the token). The JSON sits in a data block, `<` escaped so no
 * value can close the script.
 */
export function tokenMessagePage(message: object, origin: string | undefined): string {
  const json = JSON.stringify(message).replace(/</g, '\\u003c');
  const target = JSON.stringify(origin ?? null).replace(/</g, '\\u003c');
  return page(
    'Access token',
    html`<script type="application/json" id="iiif-auth-message">${raw(json)}</script>
<script>
(function () {
  var target = ${raw(target)};
  var message = JSON.parse(document.getElementById('iiif-auth-message').textContent);
  if (target && window.parent !== window) window.parent.postMessage(message, target);
})();
</script>`,
  );
}
