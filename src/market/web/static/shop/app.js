// The storefront for members: catalog, product page, cart, checkout, my orders (live status, cancel).
import { ErrorNote, Frame, Login, Status, Title, api, go, html, render, session, t, useLang, useLoad, useRoute, useState, when, won } from '../assets/lib.js';
import { OrderView } from '../assets/order.js';
import { Checkout } from './checkout.js';

const auth = session('shop');
const CART = 'market.shop.cart';
const readCart = () => JSON.parse(sessionStorage.getItem(CART) || '{}');

function AddToCart({ product, cart, setCart }) {
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState(false);
  const add = (e) => {
    e.preventDefault();
    const line = cart[product.id] ?? { product_id: product.id, name: product.name, price: product.price, quantity: 0 };
    setCart({ ...cart, [product.id]: { ...line, quantity: line.quantity + quantity } });
    setAdded(true);
  };
  return html`<form class="row" onSubmit=${add}>
    <label>${t('quantity')}<input type="number" min="1" max="999" value=${quantity} style="width:5rem"
      aria-label=${`${t('quantity')}: ${product.name}`} onInput=${(e) => setQuantity(Number(e.target.value) || 1)} /></label>
    <button class="primary" type="submit" disabled=${product.status !== 'ON_SALE'} aria-label=${`${t('add')}: ${product.name}`}>${t('add')}</button>
    <span role="status">${added ? t('added') : ''}</span></form>`;
}

function Catalog({ cart, setCart }) {
  const [page, error] = useLoad(() => api(null, '/products?limit=100'), []);
  return html`<${Title}>${t('catalog.title')}<//><${ErrorNote} error=${error} />
    <ul class="grid" style="list-style:none;padding:0">${(page?.items ?? []).map((p) => html`<li class="card">
      <h2><a href="#/product/${p.id}">${p.name}</a></h2>
      <p class="price">${won(p.price)}</p><p class="muted">${t('stock')}: ${p.stock}</p>
      <${AddToCart} product=${p} cart=${cart} setCart=${setCart} /></li>`)}</ul>`;
}

function Product({ id, cart, setCart }) {
  const [p, error] = useLoad(() => api(null, `/products/${id}`), [id]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!p) return html`<p aria-busy="true">${t('loading')}</p>`;
  return html`<${Title}>${p.name}<//><section class="card"><dl class="facts">
    <dt>${t('price')}</dt><dd class="price">${won(p.price)}</dd><dt>${t('stock')}</dt><dd>${p.stock}</dd>
    <dt>${t('status')}</dt><dd><${Status} value=${p.status} /></dd><dt>${t('seller')}</dt><dd>${p.seller_id}</dd></dl>
    <${AddToCart} product=${p} cart=${cart} setCart=${setCart} /></section>`;
}

function Cart({ cart, setCart }) {
  const lines = Object.values(cart);
  if (!lines.length) return html`<${Title}>${t('cart.title')}<//><p>${t('cart.empty')}</p>`;
  const change = (id, quantity) => {
    const next = { ...cart };
    if (quantity > 0) next[id] = { ...next[id], quantity }; else delete next[id];
    setCart(next);
  };
  return html`<${Title}>${t('cart.title')}<//>
    <table><thead><tr><th>${t('product')}</th><th class="num">${t('price')}</th><th>${t('quantity')}</th><th class="num">${t('amount')}</th><th></th></tr></thead>
    <tbody>${lines.map((l) => html`<tr><td>${l.name}</td><td class="num">${won(l.price)}</td>
      <td><input type="number" min="0" max="999" value=${l.quantity} aria-label=${`${t('quantity')}: ${l.name}`} onInput=${(e) => change(l.product_id, Number(e.target.value))} /></td>
      <td class="num">${won(l.price * l.quantity)}</td>
      <td><button type="button" onClick=${() => change(l.product_id, 0)} aria-label=${`${t('remove')}: ${l.name}`}>${t('remove')}</button></td></tr>`)}</tbody>
    <tfoot><tr><th colspan="3">${t('total')}</th><td class="num price">${won(lines.reduce((s, l) => s + l.price * l.quantity, 0))}</td><td></td></tr></tfoot></table>
    <p><button class="primary" type="button" onClick=${() => go('checkout')}>${t('checkout')}</button></p>`;
}

function MyOrders({ token }) {
  const [status, setStatus] = useState('');
  const [page, error] = useLoad(() => api(token, `/orders?limit=50${status ? `&status=${status}` : ''}`), [status]);
  return html`<${Title}>${t('orders.title')}<//>
    <label style="max-width:14rem">${t('status')}<select value=${status} onChange=${(e) => setStatus(e.target.value)}>
      <option value="">—</option>${['PENDING', 'PAID', 'FAILED', 'CANCELLING', 'CANCELLED'].map((s) => html`<option>${s}</option>`)}</select></label>
    <${ErrorNote} error=${error} />
    ${page && !page.items.length ? html`<p>${t('none')}</p>` : html`<table><thead><tr><th>${t('order')}</th><th>${t('status')}</th>
      <th class="num">${t('total')}</th><th>${t('created')}</th></tr></thead><tbody>${(page?.items ?? []).map((o) => html`<tr>
      <td><a href="#/orders/${o.id}">${o.id}</a></td><td><${Status} value=${o.status} /></td><td class="num">${won(o.total_amount)}</td><td>${when(o.created_at)}</td></tr>`)}</tbody></table>`}`;
}

function Shop() {
  useLang(); // a language switch renders every page again
  const route = useRoute();
  const [token, setToken] = useState(auth.token());
  const [cart, setCartState] = useState(readCart());
  const setCart = (next) => { sessionStorage.setItem(CART, JSON.stringify(next)); setCartState(next); };
  const logout = token && (() => { auth.clear(); setToken(null); });
  const signedIn = (view) => (token ? view : html`<${Login} onToken=${(tk) => { auth.save(tk); setToken(tk); }} />`);
  const [where, id] = route;
  const count = Object.values(cart).reduce((n, l) => n + l.quantity, 0);
  let page;
  if (where === 'product') page = html`<${Product} id=${id} cart=${cart} setCart=${setCart} />`;
  else if (where === 'cart') page = html`<${Cart} cart=${cart} setCart=${setCart} />`;
  else if (where === 'checkout') page = signedIn(html`<${Checkout} token=${token} cart=${cart} onPlaced=${() => setCart({})} />`);
  else if (where === 'orders' && id) page = signedIn(html`<${Title}>${t('order.title')}<//><${OrderView} token=${token} id=${id} />`);
  else if (where === 'orders') page = signedIn(html`<${MyOrders} token=${token} />`);
  else page = html`<${Catalog} cart=${cart} setCart=${setCart} />`;
  const links = [['catalog', 'nav.catalog'], ['cart', 'nav.cart'], ['orders', 'nav.orders']];
  return html`<${Frame} app="shop" links=${links} route=${route.length ? route : ['catalog']} onLogout=${logout}>
    <p class="visually-hidden" aria-live="polite">${t('nav.cart')}: ${count}</p>${page}<//>`;
}

render(html`<${Shop} />`, document.getElementById('app'));
