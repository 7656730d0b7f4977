// One order as the member and the operator see it: its lines, its payment legs, its saga timeline (events in
// order with the time between them), its status followed live, and the cancel action (whole or chosen
// quantities) with the refund split the server computes, shown before confirming.
import { ErrorNote, Status, api, gap, html, newKey, t, useEffect, useState, when, won } from './lib.js';

const IN_FLIGHT = ['PENDING', 'CANCELLING'];

/** Follow the order while it is in flight: a long poll (`Prefer: wait=10`) answered when it settles. */
export function useLiveOrder(token, id) {
  const [order, setOrder] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        let o = await api(token, `/orders/${id}`);
        while (alive) {
          setOrder(o);
          if (!IN_FLIGHT.includes(o.status)) break;
          o = await api(token, `/orders/${id}`, { headers: { Prefer: 'wait=10' } });
        }
      } catch (err) { if (alive) setError(err); }
    })();
    return () => { alive = false; };
  }, [token, id, version]);
  return [order, error, () => setVersion((v) => v + 1)];
}

export function Timeline({ entries }) {
  return html`<ol class="timeline">${entries.map((e, i) => {
    const after = i ? new Date(e.at) - new Date(entries[i - 1].at) : null;
    return html`<li><strong>${e.event}</strong>${e.detail ? html` — <span>${e.detail}</span>` : ''}
      <span class="gap"><time datetime=${e.at}>${when(e.at)}</time>${after !== null ? ` · ${t('event.gap')} +${gap(after)}` : ''}</span></li>`;
  })}</ol>`;
}

function Lines({ order, picking, picked, setPicked }) {
  return html`<table><caption class="visually-hidden">${t('lines')}</caption>
    <thead><tr><th>${t('product')}</th><th class="num">${t('price')}</th><th class="num">${t('quantity')}</th>
      <th class="num">${t('cancelled.qty')}</th><th class="num">${t('amount')}</th>${picking && html`<th>${t('cancel.qty')}</th>`}</tr></thead>
    <tbody>${order.items.map((line) => {
      const open = line.quantity - (line.cancelled_quantity ?? 0);
      return html`<tr><td>${line.name} <span class="muted">${line.product_id}</span></td><td class="num">${won(line.unit_price)}</td>
        <td class="num">${line.quantity}</td><td class="num">${line.cancelled_quantity ?? 0}</td><td class="num">${won(line.line_amount)}</td>
        ${picking && html`<td><input type="number" min="0" max=${open} value=${picked[line.product_id] ?? 0}
          aria-label=${`${t('cancel.qty')}: ${line.name}`} name=${`cancel-${line.product_id}`}
          onInput=${(e) => setPicked({ ...picked, [line.product_id]: Number(e.target.value) })} /></td>`}</tr>`;
    })}</tbody></table>`;
}

function Legs({ order, history }) {
  const refunded = (method) => {
    const own = order.payments.find((p) => p.method === method)?.refunded_amount;
    return own ?? history?.find((h) => h.method === method)?.refunded_amount ?? 0;
  };
  return html`<table><caption class="visually-hidden">${t('legs')}</caption>
    <thead><tr><th>${t('method')}</th><th class="num">${t('amount')}</th><th>${t('status')}</th><th class="num">${t('refunded')}</th></tr></thead>
    <tbody>${order.payments.map((p) => html`<tr><td>${p.method}</td><td class="num">${won(p.amount)}</td>
      <td><${Status} value=${p.status} /></td><td class="num" data-refunded=${p.method}>${won(refunded(p.method))}</td></tr>`)}</tbody></table>`;
}

/** The cancel action: choose (whole, or quantities per line), see the server's refund split, confirm. */
function Cancel({ token, order, picked, setPicking, onDone }) {
  const [split, setSplit] = useState(null);
  const [error, setError] = useState(null);
  const items = picked && Object.entries(picked).filter(([, q]) => q > 0).map(([product_id, quantity]) => ({ product_id, quantity }));
  const body = items ? { items } : undefined;
  useEffect(() => {
    setSplit(null); setError(null);
    if (items && !items.length) return;
    api(token, `/orders/${order.id}/cancel/preview`, { method: 'POST', body: body ?? {} })
      .then(setSplit, (err) => setError(err.status === 404 && err.code !== 'NOT_FOUND' ? null : err));
  }, [JSON.stringify(body)]);
  async function confirm() {
    try {
      await api(token, `/orders/${order.id}/cancel`, { method: 'POST', body, headers: { 'Idempotency-Key': newKey(), Prefer: 'wait=5' } });
      onDone();
    } catch (err) { setError(err); }
  }
  return html`<div class="card" role="group" aria-label=${t('cancel')}>
    <h3>${t('refund.split')}</h3>
    ${split ? html`<p>${t('refund.total')}: <span class="price" data-testid="refund-total">${won(split.refund_amount)}</span></p>
      <ul>${split.refunds.map((r) => html`<li data-split=${r.method}>${r.method}: ${won(r.amount)}</li>`)}</ul>`
      : html`<p class="muted">${error ? '' : t('unavailable')}</p>`}
    <${ErrorNote} error=${error} />
    <div class="row"><button class="danger" type="button" onClick=${confirm} disabled=${items && !items.length}>${t('cancel.confirm')}</button>
      <button type="button" onClick=${() => setPicking(null)}>${t('cancel.back')}</button></div></div>`;
}

export function OrderView({ token, id, admin = false }) {
  const [order, error, reload] = useLiveOrder(token, id);
  const [history, setHistory] = useState(null);
  const [picking, setPicking] = useState(null); // null, 'whole' or 'lines'
  const [picked, setPicked] = useState({});
  useEffect(() => { api(token, `/payments?order_id=${id}`).then((h) => setHistory(h.items ?? h), () => {}); }, [order?.status, order?.timeline?.length]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!order) return html`<p aria-busy="true">${t('loading')}</p>`;
  const done = () => { setPicking(null); setPicked({}); reload(); };
  return html`<section class="card"><dl class="facts">
      <dt>${t('order')}</dt><dd data-testid="order-id">${order.id}</dd>
      ${admin && html`<dt>${t('member.col')}</dt><dd>${order.member_id}</dd>`}
      <dt>${t('status.live')}</dt><dd aria-live="polite" data-testid="order-status"><${Status} value=${order.status} />
        ${IN_FLIGHT.includes(order.status) ? html` <span class="muted">${t('waiting')}</span>` : ''}</dd>
      <dt>${t('total')}</dt><dd class="price">${won(order.total_amount)}</dd>
      <dt>${t('created')}</dt><dd>${when(order.created_at)}</dd>
      ${order.failure_reason && html`<dt>${t('failure')}</dt><dd>${order.failure_reason}</dd>`}
    </dl></section>
    <h2>${t('lines')}</h2><${Lines} order=${order} picking=${picking === 'lines'} picked=${picked} setPicked=${setPicked} />
    <h2>${t('legs')}</h2><${Legs} order=${order} history=${history} />
    ${order.status === 'PAID' && html`<h2>${t('cancel')}</h2>
      ${picking ? html`<${Cancel} token=${token} order=${order} picked=${picking === 'lines' ? picked : null} setPicking=${setPicking} onDone=${done} />`
        : html`<div class="row"><button type="button" onClick=${() => setPicking('whole')}>${t('cancel.whole')}</button>
          <button type="button" onClick=${() => setPicking('lines')}>${t('cancel.lines')}</button></div>`}`}
    <h2>${t('timeline')}</h2><${Timeline} entries=${order.timeline} />`;
}

