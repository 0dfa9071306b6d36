// Small DOM helpers. Text from the network only ever goes in through textContent or
// Node.append(string) (a text node), never through innerHTML.

/**
 * Creates an element. props: class, text, dataset, on<event> handlers, other attributes.
 * Children are nodes or strings (strings become text nodes); null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Sets text only when it changed, so a refresh does not touch unchanged nodes. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** Sets (or, with null, removes) an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) {
    el.setAttribute(name, String(value));
  }
}

export function setClass(el, name, on) {
  if (el.classList.contains(name) !== Boolean(on)) el.classList.toggle(name, Boolean(on));
}

/** Replaces an element's children (for content rebuilt rarely, e.g. an explain result). */
export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/**
 * Makes parent's children one element per item, in order, reusing the element with the same
 * key from the last render: unchanged rows are left alone, so refreshing does not flicker or
 * lose text selection. create(item) builds a new element; update(el, item) refreshes one.
 */
export function syncKeyed(parent, items, keyOf, create, update) {
  const old = new Map();
  for (const child of Array.from(parent.children)) old.set(child.dataset.key, child);
  const seen = new Map();
  let prev = null;
  for (const item of items) {
    const base = String(keyOf(item));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    const key = n ? `${base}#${n}` : base;
    let el = old.get(key);
    if (el) old.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    const want = prev ? prev.nextElementSibling : parent.firstElementChild;
    if (want !== el) parent.insertBefore(el, want);
    prev = el;
  }
  for (const el of old.values()) el.remove();
}
