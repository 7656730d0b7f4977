// What the console and the shop share: the API client, words in two languages, money and time, hash routes,
// the page frame (skip link, header, language switch) and the log-in form. Plain ES modules over Preact + htm
// (one vendored file): nothing to build.
import { html, render, useEffect, useRef, useState } from './vendor/htm-preact-3.1.1.module.js';
import { CODES, WORDS } from './i18n.js';

export { html, render, useEffect, useRef, useState };

// ---- words -------------------------------------------------------------------------------------------
let lang = localStorage.getItem('market.lang') || (navigator.language.startsWith('ko') ? 'ko' : 'en');
const listeners = new Set();
export const currentLang = () => lang;
export function setLang(next) {
  lang = next;
  localStorage.setItem('market.lang', next);
  document.documentElement.lang = next;
  listeners.forEach((f) => f(next));
}
export function t(key) { return WORDS[lang][key] ?? WORDS.en[key] ?? key; }
export function useLang() {
  const [, set] = useState(lang);
  useEffect(() => { listeners.add(set); return () => listeners.delete(set); }, []);
  return lang;
}

// ---- money and time ----------------------------------------------------------------------------------
export const won = (n) => new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US',
  { style: 'currency', currency: 'KRW' }).format(n ?? 0);
export const when = (iso) => (iso ? new Date(iso).toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-GB') : '—');
export function gap(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

// ---- the API -----------------------------------------------------------------------------------------
export class Problem extends Error {
  constructor(body, status) {
    super(body.detail || body.title || `HTTP ${status}`);
    Object.assign(this, body, { status });
  }
}
/** A stable code in the reader's language, and the server's detail (its figures) after it. */
export function problemText(err) {
  const said = CODES[lang][err.code] ?? CODES.en[err.code];
  return said ? `${said} (${err.code}${err.detail ? `: ${err.detail}` : ''})` : (err.detail || err.message);
}

export function session(app) {
  const key = `market.${app}.token`;
  return {
    token: () => sessionStorage.getItem(key),
    save: (token) => sessionStorage.setItem(key, token),
    clear: () => sessionStorage.removeItem(key),
  };
}

/** fetch under /api/v1 with the token; JSON in and out; a problem+json answer throws `Problem`. */
export async function api(token, path, { method = 'GET', body, headers = {} } = {}) {
  const all = { Accept: 'application/json', ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  if (body !== undefined) all['Content-Type'] = 'application/json';
  const r = await fetch(`/api/v1${path}`, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Problem(data || {}, r.status);
  return data;
}
export const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
  : `${Date.now()}-${Math.random().toString(16).slice(2)}`);
/** The role a token claims (the server checks it; this only picks what to show). */
export function roleOf(token) {
  try { return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).role; } catch { return null; }
}

// ---- routes: #/path/segments -------------------------------------------------------------------------
export function useRoute() {
  const read = () => (location.hash.replace(/^#\/?/, '') || '').split('?')[0].split('/').filter(Boolean);
  const [route, set] = useState(read());
  useEffect(() => {
    const on = () => set(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
export const go = (path) => { location.hash = `#/${path}`; };

// ---- the frame ---------------------------------------------------------------------------------------
// Moving to another page focuses its heading (a screen reader announces where it is); the first page keeps
// the document's own start, so that the first Tab reaches the skip link.
let navigated = false;
addEventListener('hashchange', () => { navigated = true; });

export function Title({ children }) {
  const ref = useRef();
  useEffect(() => { if (navigated) ref.current?.focus(); }, []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

export function Frame({ app, links, route, onLogout, children }) {
  useLang();
  return html`
    <a class="skip" href="#content" onClick=${(e) => { e.preventDefault(); document.getElementById('content').focus(); }}>${t('skip')}</a>
    <header class="bar">
      <span class="brand">${t(`app.${app}`)}</span>
      <nav aria-label=${t(`app.${app}`)}><ul>
        ${links.map(([path, key]) => html`<li><a href="#/${path}" aria-current=${route[0] === path ? 'page' : undefined}>${t(key)}</a></li>`)}
      </ul></nav>
      <div class="end">
        <label class="inline"><span class="visually-hidden">${t('lang')}</span>
          <select aria-label=${t('lang')} value=${lang} onChange=${(e) => setLang(e.target.value)}>
            <option value="ko">한국어</option><option value="en">English</option>
          </select></label>
        ${onLogout && html`<button type="button" onClick=${onLogout}>${t('logout')}</button>`}
      </div>
    </header>
    <main id="content" tabindex="-1">${children}</main>`;
}

export function Login({ note, onToken }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    try {
      onToken((await api(null, '/auth/token', { method: 'POST', body: { email, password } })).access_token);
    } catch (err) { setError(err); }
  }
  return html`<section class="card" style="max-width:24rem">
    <${Title}>${t('login.title')}<//>
    ${note && html`<p class="muted">${note}</p>`}
    <form onSubmit=${submit}>
      <label>${t('email')}<input type="email" name="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
      <label>${t('password')}<input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      <p><button class="primary" type="submit">${t('login')}</button></p>
      ${error && html`<p class="error" role="alert">${problemText(error)}</p>`}
    </form></section>`;
}

export const Status = ({ value }) => html`<span class=${`status ${value}`}>${value}</span>`;
export const ErrorNote = ({ error }) => (error ? html`<p class="error" role="alert">${problemText(error)}</p>` : null);

/** Load something when `deps` change: [data, error, reload]. */
export function useLoad(load, deps) {
  const [state, set] = useState([null, null]);
  const run = () => load().then((d) => set([d, null]), (e) => set([null, e]));
  useEffect(() => { run(); }, deps);
  return [state[0], state[1], run];
}
document.documentElement.lang = lang;
