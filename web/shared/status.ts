/**
 * The line under a viewer that says what is happening: loading, or why nothing can be shown. It is
 * a live region, so a screen reader hears it; an error replaces the viewer.
 */
const region = (): HTMLElement => document.getElementById('viewer-status')!;

export function showProgress(text: string): void {
  const status = region();
  status.className = 'viewer-status';
  status.textContent = text;
}

export function clearStatus(): void {
  const status = region();
  status.textContent = '';
  status.hidden = true;
}

export function showError(title: string, detail: string): void {
  document.getElementById('viewer')?.setAttribute('hidden', '');
  const status = region();
  status.hidden = false;
  status.className = 'viewer-status viewer-error';
  status.setAttribute('role', 'alert');
  status.replaceChildren();
  const heading = document.createElement('h2');
  heading.textContent = title;
  const paragraph = document.createElement('p');
  paragraph.textContent = detail;
  const back = document.createElement('p');
  const home = document.createElement('a');
  home.href = document.querySelector<HTMLAnchorElement>('.site-name')?.href ?? '/';
  home.textContent = 'Back to the home page';
  back.append(home);
  status.append(heading, paragraph, back);
}

/** Sets the tab's title to what is shown, then the viewer's name. */
export function titleWith(label: string): void {
  if (label) document.title = `${label} — ${document.title}`;
}
