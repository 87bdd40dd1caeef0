/** Building elements from data: text is always set as text (never parsed as HTML), so an event's content cannot run in the page. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** Replaces the rows of `table`'s body. */
export function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/** A `datetime-local` value as an ISO instant, or undefined when empty. */
export const isoOf = (local) => (local ? new Date(local).toISOString() : undefined);

const SVG = 'http://www.w3.org/2000/svg';
export const COLORS = ['#c2185b', '#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#5d4037', '#455a64'];

/**
 * A line chart as inline SVG: `series` is `[{ name, points: [[timeMs, value], …] }]` over
 * [`from`, `to`] ms; the y axis starts at 0 and its top is labelled.
 */
export function lineChart(series, { from, to, label }) {
  const width = 600;
  const height = 160;
  const pad = 28;
  const max = Math.max(1, ...series.flatMap((s) => s.points.map(([, v]) => v)));
  const x = (t) => pad + ((t - from) / Math.max(1, to - from)) * (width - pad - 4);
  const y = (v) => height - pad + 4 - (v / max) * (height - pad - 4);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}; highest ${Math.round(max * 100) / 100}`);
  const add = (tag, attributes, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  add('line', { x1: pad, y1: y(0), x2: width - 4, y2: y(0), stroke: '#999' });
  add('line', { x1: pad, y1: y(0), x2: pad, y2: 4, stroke: '#999' });
  add('text', { x: 2, y: 14, 'font-size': 11 }, String(Math.round(max * 100) / 100));
  add('text', { x: 2, y: y(0), 'font-size': 11 }, '0');
  add('text', { x: pad, y: height - 4, 'font-size': 11 }, new Date(from).toLocaleTimeString());
  add('text', { x: width - 70, y: height - 4, 'font-size': 11 }, new Date(to).toLocaleTimeString());
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const points = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    add('polyline', { points, fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 2, 'data-series': s.name });
  });
  return svg;
}
