// The operators' console: order search (the read side's filters), one order's saga, sales per day, the
// platform's health, and the points and coupon tools. Admin accounts only (the server checks every call).
import { ErrorNote, Frame, Login, Status, Title, api, html, render, roleOf, session, t, useLang, useRoute, useState, when, won } from '../assets/lib.js';
import { OrderView } from '../assets/order.js';
import { Health, Sales, Tools } from './panels.js';

const auth = session('console');
const STATUSES = ['PENDING', 'PAID', 'FAILED', 'CANCELLING', 'CANCELLED'];

function Search({ token }) {
  const [filters, setFilters] = useState({ status: '', member_id: '', seller_id: '', from: '', to: '', stuck: false });
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  const query = (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    Object.entries(filters).forEach(([k, v]) => { if (v) q.set(k, v === true ? 'true' : v); });
    if (cursor) q.set('cursor', cursor);
    return `/admin/orders?${q}`;
  };
  async function search(e, cursor) {
    e?.preventDefault();
    setError(null);
    try {
      const page = await api(token, query(cursor));
      setFound(cursor ? { ...page, items: [...found.items, ...page.items] } : page);
    } catch (err) { setError(err); }
  }
  const field = (name, label, type = 'text') => html`<label>${t(label)}<input type=${type} name=${name} value=${filters[name]}
    onInput=${(e) => setFilters({ ...filters, [name]: e.target.value })} /></label>`;
  return html`<${Title}>${t('search.title')}<//>
    <form class="card" onSubmit=${search} role="search">
      <div class="row">
        <label>${t('status')}<select name="status" value=${filters.status} onChange=${(e) => setFilters({ ...filters, status: e.target.value })}>
          <option value="">—</option>${STATUSES.map((s) => html`<option>${s}</option>`)}</select></label>
        ${field('member_id', 'member')}${field('seller_id', 'seller')}${field('from', 'from', 'date')}${field('to', 'to', 'date')}
      </div>
      <p><label class="inline"><input type="checkbox" name="stuck" checked=${filters.stuck} onChange=${(e) => setFilters({ ...filters, stuck: e.target.checked })} />${t('stuck')}</label></p>
      <button class="primary" type="submit">${t('search')}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${found && html`<p role="status">${found.items.length} ${t('orders.n')}</p>
      <table><thead><tr><th>${t('order')}</th><th>${t('member.col')}</th><th>${t('status')}</th><th class="num">${t('total')}</th>
        <th>${t('created')}</th><th>${t('updated')}</th></tr></thead>
      <tbody>${found.items.map((o) => html`<tr><td><a href="#/orders/${o.id}">${o.id}</a></td><td>${o.member_id}</td>
        <td><${Status} value=${o.status} /></td><td class="num">${won(o.total_amount)}</td><td>${when(o.created_at)}</td><td>${when(o.updated_at)}</td></tr>`)}</tbody></table>
      ${found.next_cursor && html`<p><button type="button" onClick=${() => search(null, found.next_cursor)}>${t('more')}</button></p>`}`}`;
}

function Console() {
  useLang(); // a language switch renders every page again
  const route = useRoute();
  const [token, setToken] = useState(auth.token());
  const logout = token && (() => { auth.clear(); setToken(null); });
  const links = [['orders', 'nav.search'], ['sales', 'nav.sales'], ['health', 'nav.health'], ['tools', 'nav.tools']];
  const [where, id] = route.length ? route : ['orders'];
  let page;
  if (!token || roleOf(token) !== 'admin') {
    page = html`<${Login} note=${t('login.admin')} onToken=${(tk) => { auth.save(tk); setToken(tk); }} />`;
  } else if (where === 'orders' && id) page = html`<${Title}>${t('order.title')}<//><${OrderView} token=${token} id=${id} admin />`;
  else if (where === 'sales') page = html`<${Sales} token=${token} />`;
  else if (where === 'health') page = html`<${Health} token=${token} />`;
  else if (where === 'tools') page = html`<${Tools} token=${token} />`;
  else page = html`<${Search} token=${token} />`;
  return html`<${Frame} app="console" links=${links} route=${[where]} onLogout=${logout}>${page}<//>`;
}

render(html`<${Console} />`, document.getElementById('app'));
