// Checkout: the member composes the payment plan (card, points, one of their coupons; or pay later alone) and
// sees the rules' verdict before paying. Every verdict is the server's: each change is sent to
// POST /api/v1/orders/preview, which runs the rules placing runs (SPEC §4) and answers the first broken one.
// Nothing here re-implements a rule: the coupon's discount is what the server says it is (the
// `expected_coupon_amount` of its AMOUNT_MISMATCH answer), the card pays what the other legs leave.
import { ErrorNote, Title, api, go, html, newKey, problemText, t, useEffect, useLoad, useRef, useState, won } from '../assets/lib.js';

function planOf({ method, total, points, couponId, couponAmount, cardKey, bnplKey }) {
  if (method === 'bnpl') return [{ method: 'BNPL', amount: total, payment_key: bnplKey }];
  const legs = [];
  const card = total - points - (couponId ? couponAmount : 0);
  if (card > 0) legs.push({ method: 'PG', amount: card, payment_key: cardKey });
  if (points > 0) legs.push({ method: 'POINT', amount: points });
  if (couponId) legs.push({ method: 'COUPON', coupon_id: couponId, amount: couponAmount });
  return legs;
}

export function Checkout({ token, cart, onPlaced }) {
  const items = Object.values(cart).map(({ product_id, quantity }) => ({ product_id, quantity }));
  const shown = Object.values(cart).reduce((sum, l) => sum + l.price * l.quantity, 0);
  const [me] = useLoad(() => api(token, '/members/me'), []);
  const [coupons] = useLoad(() => api(token, '/members/me/coupons?limit=100'), []);
  const [plan, setPlan] = useState({ method: 'composite', total: shown, points: 0, couponId: '', couponAmount: 1,
    cardKey: 'pk_test_ok', bnplKey: 'bnpl_test_ok' });
  const [verdict, setVerdict] = useState({ checking: true });
  const [placing, setPlacing] = useState(null);
  const key = useRef(newKey()); // one key per plan: a retried click replays, a changed plan is a new order
  const legs = planOf(plan);
  const set = (change) => { key.current = newKey(); setPlan({ ...plan, ...change }); };

  useEffect(() => {
    let alive = true;
    setVerdict({ checking: true });
    const timer = setTimeout(async () => {
      try {
        const priced = await api(token, '/orders/preview', { method: 'POST', body: { items, payments: legs } });
        if (alive) setVerdict({ ok: priced });
      } catch (err) {
        if (!alive) return;
        // The server's figures fix what only it knows: the total at today's prices, the coupon's discount.
        if (err.code === 'AMOUNT_MISMATCH' && err.expected_total != null && err.expected_total !== plan.total) {
          setPlan({ ...plan, total: err.expected_total });
        } else if (err.code === 'AMOUNT_MISMATCH' && err.expected_coupon_amount != null && plan.couponId
          && err.expected_coupon_amount !== plan.couponAmount) {
          setPlan({ ...plan, couponAmount: err.expected_coupon_amount });
        } else setVerdict({ error: err });
      }
    }, 200);
    return () => { alive = false; clearTimeout(timer); };
  }, [JSON.stringify(legs)]);

  async function pay(e) {
    e.preventDefault();
    setPlacing({ busy: true });
    try {
      const order = await api(token, '/orders', { method: 'POST', body: { items, payments: legs }, headers: { 'Idempotency-Key': key.current } });
      onPlaced();
      go(`orders/${order.id}`);
    } catch (err) { setPlacing({ error: err }); }
  }

  const available = (coupons?.items ?? []).filter((c) => c.status === 'AVAILABLE');
  const composite = plan.method === 'composite';
  return html`<${Title}>${t('checkout.title')}<//>
    <form class="card" onSubmit=${pay} aria-describedby="verdict">
      <p>${t('total')}: <span class="price" data-testid="total">${won(plan.total)}</span></p>
      <fieldset><legend>${t('method')}</legend>
        <label class="inline"><input type="radio" name="method" value="composite" checked=${composite} onChange=${() => set({ method: 'composite' })} />${t('composite')}</label>
        <label class="inline"><input type="radio" name="method" value="bnpl" checked=${!composite} onChange=${() => set({ method: 'bnpl' })} />${t('bnpl')}</label>
      </fieldset>
      ${composite ? html`<div class="row">
        <label>${t('points')} (${t('balance')} ${won(me?.point_balance)})
          <input type="number" name="points" min="0" step="100" value=${plan.points} onInput=${(e) => set({ points: Number(e.target.value) || 0 })} /></label>
        <label>${t('coupon')}
          <select name="coupon" value=${plan.couponId} onChange=${(e) => set({ couponId: e.target.value, couponAmount: 1 })}>
            <option value="">${t('no.coupon')}</option>
            ${available.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
          </select></label>
        <label>${t('card.key')}
          <select name="card" value=${plan.cardKey} onChange=${(e) => set({ cardKey: e.target.value })}>
            ${['pk_test_ok', 'pk_test_decline', 'pk_test_timeout', 'pk_test_slow'].map((k) => html`<option>${k}</option>`)}
          </select></label></div>`
      : html`<label>${t('bnpl')}<select name="bnpl" value=${plan.bnplKey} onChange=${(e) => set({ bnplKey: e.target.value })}>
          ${['bnpl_test_ok', 'bnpl_test_reject'].map((k) => html`<option>${k}</option>`)}</select></label>`}
      <h2>${t('plan')}</h2>
      <table><thead><tr><th>${t('method')}</th><th class="num">${t('amount')}</th></tr></thead>
        <tbody>${legs.map((l) => html`<tr data-leg=${l.method}><td>${t({ PG: 'card', POINT: 'points', COUPON: 'coupon', BNPL: 'bnpl' }[l.method])}</td>
          <td class="num">${won(l.amount)}</td></tr>`)}</tbody></table>
      <div id="verdict" aria-live="polite" data-testid="verdict">
        ${verdict.checking ? html`<p class="muted">${t('checking')}</p>`
          : verdict.ok ? html`<p class="ok">${t('plan.ok')}</p>`
          : html`<p class="error">${problemText(verdict.error)}</p>`}
      </div>
      <${ErrorNote} error=${placing?.error} />
      <p><button class="primary" type="submit" disabled=${!verdict.ok || placing?.busy}>${t('pay')} ${won(plan.total)}</button></p>
    </form>`;
}
