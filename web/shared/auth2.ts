/**
 * The IIIF Authorization Flow 2.0, run by the viewer page itself before it hands the manifest to
 * the viewer (Mirador 4 and UV 4 speak only Auth 1.0): for each image's probe service, probe; on a
 * 401, the access service (active: a prompt in the page, then the access window; kiosk: the window
 * at once; external: nothing to open), then the token service in a hidden iframe (messageId and
 * origin, the answer taken only from the token service's origin with our messageId), then the probe
 * again with the token. The session the access service sets is what then lets the viewer's own
 * requests through (same origin). A manifest that names Auth 1.0 services is left to the viewer,
 * which runs that flow itself.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(isObject);

/** The first string of a language map ({ "en": ["…"] }), or a plain string. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) return text((value.en ?? value.none ?? Object.values(value)[0]) as unknown);
  if (Array.isArray(value)) return text(value[0]);
  return '';
}

/** Every AuthProbeService2 in the document, once each. */
function probesOf(document: unknown): Json[] {
  const found = new Map<string, Json>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isObject(value)) return;
    if (value.type === 'AuthProbeService2' && typeof value.id === 'string') found.set(value.id, value);
    Object.values(value).forEach(walk);
  };
  walk(document);
  return [...found.values()];
}

const speaksAuth1 = (document: unknown): boolean => JSON.stringify(document).includes('"http://iiif.io/api/auth/1/');

async function probe(service: Json, token: string | undefined): Promise<Json> {
  const response = await fetch(String(service.id), token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const result: unknown = await response.json();
  return isObject(result) ? result : { status: response.status };
}

/** The token service in a hidden iframe; resolves with the message it posts (a token or an error). */
function requestToken(tokenService: Json): Promise<Json> {
  const url = new URL(String(tokenService.id));
  const messageId = crypto.randomUUID();
  url.searchParams.set('messageId', messageId);
  url.searchParams.set('origin', window.location.origin);
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.title = 'Access token';
  return new Promise((resolve, reject) => {
    const done = (): void => {
      window.removeEventListener('message', receive);
      clearTimeout(timer);
      frame.remove();
    };
    const receive = (event: MessageEvent): void => {
      if (event.origin !== url.origin || !isObject(event.data) || event.data.messageId !== messageId) return;
      done();
      resolve(event.data);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the access token service did not answer'));
    }, 15_000);
    window.addEventListener('message', receive);
    frame.src = url.toString();
    document.body.append(frame);
  });
}

/** Opens the access service in a window with ?origin= and resolves when that window is closed. */
function openAccessWindow(access: Json): Promise<void> {
  const url = new URL(String(access.id));
  url.searchParams.set('origin', window.location.origin);
  const opened = window.open(url.toString(), 'vitrine-access', 'popup,width=520,height=640');
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!opened || opened.closed) {
        clearInterval(timer);
        resolve();
      }
    }, 250);
  });
}

/** The prompt of an active access service, above the viewer: resolves true on confirm (inside the click, so the window may open), false to go on without. */
function prompt(panel: HTMLElement, access: Json, result: Json, problem: string | undefined, onConfirm: () => Promise<void>): Promise<boolean> {
  panel.hidden = false;
  panel.replaceChildren();
  const heading = document.createElement('h2');
  heading.textContent = text(access.heading) || text(access.label) || text(result.heading);
  const note = document.createElement('p');
  note.textContent = text(access.note) || text(result.note);
  panel.append(heading, note);
  if (problem) {
    const alert = document.createElement('p');
    alert.setAttribute('role', 'alert');
    alert.textContent = problem;
    panel.append(alert);
  }
  const confirm = document.createElement('button');
  confirm.type = 'button';
  confirm.textContent = text(access.confirmLabel) || 'Continue';
  const skip = document.createElement('button');
  skip.type = 'button';
  skip.textContent = 'Continue without access';
  panel.append(confirm, ' ', skip);
  return new Promise((resolve) => {
    confirm.addEventListener('click', () => void onConfirm().then(() => resolve(true)));
    skip.addEventListener('click', () => resolve(false));
  });
}

/** Runs the flow for every probe of the document; resolves when the viewer may start (with access or without). */
export async function authorise2(document_: unknown, panel: HTMLElement): Promise<void> {
  if (speaksAuth1(document_)) return;
  let token: string | undefined;
  const tried = new Set<string>();
  for (const service of probesOf(document_)) {
    let result = await probe(service, token);
    const access = list(service.service).find((s) => s.type === 'AuthAccessService2');
    const tokenService = access && list(access.service).find((s) => s.type === 'AuthAccessTokenService2');
    if (result.status === 200 || !access || !tokenService) continue;
    const key = String(access.id ?? access.profile);
    if (tried.has(key)) continue;
    tried.add(key);
    let problem: string | undefined;
    for (;;) {
      if (access.profile === 'active') {
        if (!(await prompt(panel, access, result, problem, () => openAccessWindow(access)))) break;
      } else if (access.profile === 'kiosk') {
        await openAccessWindow(access);
      }
      const message = await requestToken(tokenService).catch((error: unknown) => ({ note: error instanceof Error ? error.message : String(error) }) as Json);
      if (typeof message.accessToken === 'string') {
        result = await probe(service, message.accessToken);
        if (result.status === 200) {
          token = message.accessToken;
          break;
        }
      }
      problem = text(message.note) || text(result.note) || 'Access was not granted.';
      if (access.profile !== 'active') break;
    }
    panel.hidden = true;
  }
}

/** The place of the prompt: a region above the viewer, hidden until a probe asks for access. */
export function accessPanel(viewer: HTMLElement): HTMLElement {
  const panel = document.createElement('section');
  panel.className = 'access-panel';
  panel.setAttribute('aria-label', 'Access');
  panel.hidden = true;
  viewer.before(panel);
  return panel;
}
