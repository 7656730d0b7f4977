// The console's other pages: sales per day (a chart and its table), the platform's health (refreshed live),
// and the tools (grant points, define and issue a coupon).
import { ErrorNote, Title, api, html, problemText, t, useEffect, useState, when, won } from '../assets/lib.js';

// Sales are counted per KST day (SPEC §10.2): the default range ends on today in Seoul.
const day = (d) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(d);

function Chart({ days }) {
  const top = Math.max(1, ...days.map((d) => d.gross_amount));
  const w = 36;
  const height = 180;
  return html`<figure class="chart card"><svg viewBox=${`0 0 ${days.length * w + 10} ${height + 40}`} role="img"
      aria-label=${`${t('sales.title')}: ${days.map((d) => `${d.date} ${won(d.net_amount)}`).join(', ')}`}>
    ${days.map((d, i) => {
      const g = (d.gross_amount / top) * height;
      const n = (Math.max(0, d.net_amount) / top) * height;
      return html`<g><rect class="gross" x=${i * w + 8} y=${height - g + 10} width="14" height=${g}><title>${d.date} ${t('gross')} ${won(d.gross_amount)}</title></rect>
        <rect class="net" x=${i * w + 22} y=${height - n + 10} width="14" height=${n}><title>${d.date} ${t('net')} ${won(d.net_amount)}</title></rect>
        <text x=${i * w + 10} y=${height + 30} font-size="10">${d.date.slice(5)}</text></g>`;
    })}</svg>
    <figcaption><span style="color:#8fb3cf">■</span> ${t('gross')} <span style="color:#1f5f8b">■</span> ${t('net')}</figcaption></figure>`;
}

export function Sales({ token }) {
  const today = new Date();
  const [range, setRange] = useState({ from: day(new Date(today - 6 * 86_400_000)), to: day(today), seller_id: '' });
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const query = () => `/admin/stats/sales?${new URLSearchParams(Object.entries(range).filter(([, v]) => v))}`;
  async function show(e) {
    e?.preventDefault();
    try { setRows((await api(token, query())).items); setError(null); } catch (err) { setError(err); }
  }
  async function csv() {
    const r = await fetch(`/api/v1${query()}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/csv' } });
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(await r.blob()), download: 'sales.csv' });
    a.click();
  }
  useEffect(() => { show(); }, []);
  const byDay = {};
  (rows ?? []).forEach((r) => {
    const d = (byDay[r.date] ??= { date: r.date, orders: 0, gross_amount: 0, refunded_amount: 0, net_amount: 0 });
    ['orders', 'gross_amount', 'refunded_amount', 'net_amount'].forEach((k) => { d[k] += r[k]; });
  });
  // Every day of the range, those without sales too, so that the chart's time axis is true.
  const days = [];
  for (let d = Date.parse(range.from); rows && d <= Date.parse(range.to) && days.length < 366; d += 86_400_000) {
    const date = new Date(d).toISOString().slice(0, 10);
    days.push(byDay[date] ?? { date, orders: 0, gross_amount: 0, refunded_amount: 0, net_amount: 0 });
  }
  if (!days.length) days.push(...Object.values(byDay).sort((a, b) => a.date.localeCompare(b.date)));
  const input = (name, label, type) => html`<label>${t(label)}<input type=${type} name=${name} value=${range[name]} onInput=${(e) => setRange({ ...range, [name]: e.target.value })} /></label>`;
  return html`<${Title}>${t('sales.title')}<//>
    <form class="card row" onSubmit=${show}>${input('from', 'from', 'date')}${input('to', 'to', 'date')}${input('seller_id', 'seller', 'text')}
      <button class="primary" type="submit">${t('show')}</button><button type="button" onClick=${csv}>${t('csv')}</button></form>
    <${ErrorNote} error=${error} />
    ${rows && !rows.length && html`<p>${t('none')}</p>`}
    ${days.length > 0 && html`<${Chart} days=${days} />`}
    ${days.length > 0 && html`<table><thead><tr><th>${t('date')}</th><th class="num">${t('orders.n')}</th><th class="num">${t('gross')}</th>
      <th class="num">${t('refunded')}</th><th class="num">${t('net')}</th></tr></thead><tbody>${days.map((d) => html`<tr><td>${d.date}</td>
      <td class="num">${d.orders}</td><td class="num">${won(d.gross_amount)}</td><td class="num">${won(d.refunded_amount)}</td><td class="num">${won(d.net_amount)}</td></tr>`)}</tbody></table>`}`;
}

export function Health({ token }) {
  const [facts, setFacts] = useState(null);
  const [error, setError] = useState(null);
  const [at, setAt] = useState(null);
  useEffect(() => {
    const load = () => api(token, '/admin/platform').then((f) => { setFacts(f); setError(null); setAt(new Date().toISOString()); }, setError);
    load();
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [token]);
  const dash = (v) => (v === null || v === undefined ? '—' : v);
  const rec = facts?.reconciler;
  return html`<${Title}>${t('health.title')}<//><${ErrorNote} error=${error} />
    <p class="muted">${t('refreshed')}: <time>${when(at)}</time></p>
    ${facts && html`<table><thead><tr><th>${t('service')}</th><th>${t('replica')}</th><th>${t('ready')}</th>
      <th class="num">${t('backlog')}</th><th class="num">${t('lag')}</th></tr></thead>
      <tbody>${facts.services.flatMap((s) => s.replicas.map((r) => html`<tr data-service=${s.name}><th scope="row">${s.name}</th><td>${r.replica}</td>
        <td>${r.ready ? t('yes') : html`<strong class="status FAILED">${t('no')}</strong>`}</td>
        <td class="num">${dash(r.outbox_backlog)}</td><td class="num">${dash(r.consumer_lag)}</td></tr>`))}</tbody></table>
      <h2>${t('reconciler')}</h2>
      ${rec ? html`<dl class="facts card"><dt>${t('replica')}</dt><dd>${rec.replica}</dd><dt>${t('last.run')}</dt><dd>${when(rec.last_run_at)}</dd>
        <dt>${t('in.flight')}</dt><dd data-testid="in-flight">${Object.entries(rec.in_flight).map(([k, v]) => `${k} ${v}`).join(' · ') || '0'}</dd>
        <dt>${t('lease.expired')}</dt><dd>${rec.lease_expired}</dd><dt>${t('resumed')}</dt><dd>${rec.resumed_last_run}</dd>
        <dt>${t('oldest')}</dt><dd>${when(rec.oldest_in_flight_update)}</dd></dl>` : html`<p>—</p>`}`}`;
}

function Form({ title, submit, children }) {
  const [said, setSaid] = useState(null);
  async function run(e) {
    e.preventDefault();
    try { setSaid({ ok: await submit(new FormData(e.target)) }); } catch (err) { setSaid({ error: err }); }
  }
  return html`<form class="card" onSubmit=${run}><h2>${title}</h2>${children}
    <p role="status">${said?.ok ? html`<span class="ok">${said.ok}</span>` : said?.error ? html`<span class="error">${problemText(said.error)}</span>` : ''}</p></form>`;
}

export function Tools({ token }) {
  const grant = async (f) => {
    const member = await api(token, `/admin/members/${f.get('member_id')}/points`, { method: 'POST', body: { amount: Number(f.get('amount')), reason: f.get('reason') } });
    return `${t('granted')} ${won(member.point_balance)}`;
  };
  const issue = async (f) => {
    const now = new Date();
    const body = { name: f.get('name'), discount_type: f.get('discount_type'), discount_value: Number(f.get('discount_value')),
      max_discount: f.get('max_discount') ? Number(f.get('max_discount')) : null, min_order_amount: Number(f.get('min_order_amount') || 0),
      valid_from: now.toISOString(), valid_until: new Date(now.getTime() + Number(f.get('days')) * 86_400_000).toISOString() };
    const coupon = await api(token, '/admin/coupons', { method: 'POST', body });
    const issued = await api(token, `/admin/coupons/${coupon.id}/issue`, { method: 'POST', body: { member_id: f.get('member_id') } });
    return `${t('issued')}: ${issued.id}`;
  };
  const field = (name, label, type = 'text', extra = {}) => html`<label>${t(label)}<input name=${name} type=${type} required ...${extra} /></label>`;
  return html`<${Title}>${t('tools.title')}<//>
    <${Form} title=${t('grant')} submit=${grant}><div class="row">${field('member_id', 'member')}${field('amount', 'points', 'number', { min: 1 })}
      ${field('reason', 'reason', 'text', { value: 'console' })}<button class="primary" type="submit">${t('grant')}</button></div><//>
    <${Form} title=${t('coupon.define')} submit=${issue}><div class="row">${field('name', 'name')}
      <label>${t('discount.type')}<select name="discount_type"><option value="FIXED">${t('fixed')}</option><option value="PERCENT">${t('percent')}</option></select></label>
      ${field('discount_value', 'value', 'number', { min: 1 })}<label>${t('max.discount')}<input name="max_discount" type="number" min="1" /></label>
      ${field('min_order_amount', 'min.order', 'number', { min: 0, value: 0 })}${field('days', 'valid.days', 'number', { min: 1, value: 30 })}
      ${field('member_id', 'member')}<button class="primary" type="submit">${t('issue')}</button></div><//>`;
}
