/**
 * Placeholder art for the demo products: one SVG per product, deterministic (the same product always renders the
 * same bytes), in its category's palette with a category icon, a per-product hue, pattern and layout, and the name.
 */

export interface ArtProduct {
  readonly id: string;
  readonly name: string;
  readonly category: string;
}

export interface ArtCategory {
  readonly id: string;
  readonly name: string;
}

const WIDTH = 480;
const HEIGHT = 360;

interface Palette {
  readonly hue: number;
  readonly spread: number;
}

const PALETTES: Readonly<Record<string, Palette>> = {
  kitchen: { hue: 18, spread: 28 },
  electronics: { hue: 222, spread: 36 },
  outdoor: { hue: 140, spread: 30 },
  home: { hue: 38, spread: 24 },
  apparel: { hue: 330, spread: 34 },
  toys: { hue: 268, spread: 40 },
};

/** Icons on a 24-unit grid, stroked (Feather-like), drawn at 4x. */
const ICONS: Readonly<Record<string, string>> = {
  kitchen:
    '<path d="M4 10h16v5a5 5 0 0 1-5 5H9a5 5 0 0 1-5-5z"/><path d="M2 10h2M20 10h2"/>' +
    '<path d="M9 3.5c-.8 1 .8 2-0 3M12 3.5c-.8 1 .8 2 0 3M15 3.5c-.8 1 .8 2 0 3"/>',
  electronics:
    '<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/>' +
    '<path d="M7 12l3-3 2 2 4-4"/>',
  outdoor:
    '<path d="M2 20l7-11 4 6 3-4 6 9z"/><circle cx="17" cy="5.5" r="2"/><path d="M7.3 11.7l1.7 1.3 1.5-1.6"/>',
  home:
    '<path d="M3 11l9-7 9 7"/><path d="M5 9.5V20h14V9.5"/><path d="M10 20v-6h4v6"/>' +
    '<path d="M16 5V3h2v3.5"/>',
  apparel:
    '<path d="M8.5 3L3 6l2 4.2 3-1.2V21h8V9l3 1.2L21 6l-5.5-3c-.6 1.6-1.9 2.6-3.5 2.6S9.1 4.6 8.5 3z"/>',
  toys:
    '<rect x="4" y="4" width="16" height="16" rx="3.5"/><circle cx="8.5" cy="8.5" r="1.1"/>' +
    '<circle cx="12" cy="12" r="1.1"/><circle cx="15.5" cy="15.5" r="1.1"/>',
};

/** Product-specific icons (same grid); a product without one shows its category's. */
const PRODUCT_ICONS: Readonly<Record<string, string>> = {
  'chef-knife-8in':
    '<path d="M20 4L9 15l2 2 7-7c2-2 2-4 2-6z"/><path d="M9 15l-5 5"/><path d="M6.5 17.5l-2 2"/>',
  'cast-iron-skillet': '<circle cx="10" cy="12" r="6"/><path d="M16 12h6"/><circle cx="10" cy="12" r="3.5"/>',
  'pour-over-coffee-set':
    '<path d="M6 4h12l-4 6h-4z"/><path d="M8 12h8l1 8H7z"/><path d="M17 14h2a2 2 0 0 1 0 4h-1.5"/>',
  'bamboo-cutting-board':
    '<rect x="3" y="7" width="15" height="12" rx="2"/><path d="M18 11h2a1 1 0 0 1 1 1v2a1 1 0 0 1-1 1h-2"/><path d="M6 10h9M6 16h9"/>',
  'stainless-mixing-bowls': '<path d="M3 10h18a9 9 0 0 1-18 0z"/><path d="M6 10a6 6 0 0 1 12 0"/>',
  'digital-kitchen-scale':
    '<rect x="4" y="9" width="16" height="11" rx="2"/><rect x="8" y="12" width="8" height="3" rx="1"/><path d="M5 6h14"/>',
  'ceramic-mug-set':
    '<path d="M5 7h11v9a4 4 0 0 1-4 4H9a4 4 0 0 1-4-4z"/><path d="M16 9h2a2.5 2.5 0 0 1 0 5h-2"/><path d="M8 3v2M11 3v2"/>',
  'wireless-headphones':
    '<path d="M4 15v-3a8 8 0 0 1 16 0v3"/><rect x="3" y="14" width="4" height="6" rx="1.5"/><rect x="17" y="14" width="4" height="6" rx="1.5"/>',
  'bluetooth-speaker':
    '<rect x="6" y="3" width="12" height="18" rx="3"/><circle cx="12" cy="14" r="3.5"/><circle cx="12" cy="7" r="1"/>',
  'mechanical-keyboard':
    '<rect x="2" y="7" width="20" height="11" rx="2"/><path d="M6 11h.01M9 11h.01M12 11h.01M15 11h.01M18 11h.01M7 14.5h10"/>',
  'usb-c-charger-65w':
    '<rect x="7" y="8" width="10" height="12" rx="2"/><path d="M10 8V4M14 8V4"/><path d="M12.5 11l-2 3h3l-2 3"/>',
  'smart-led-bulb':
    '<path d="M9 18h6M10 21h4"/><path d="M12 3a6 6 0 0 0-3.5 10.9c.6.5 1 1.3 1 2.1h5c0-.8.4-1.6 1-2.1A6 6 0 0 0 12 3z"/>',
  'e-reader': '<rect x="5" y="2.5" width="14" height="19" rx="2"/><path d="M8 7h8M8 10h8M8 13h5"/>',
  'wireless-mouse': '<rect x="6" y="3" width="12" height="18" rx="6"/><path d="M12 7v3"/>',
  'action-camera':
    '<rect x="3" y="7" width="18" height="13" rx="2"/><circle cx="12" cy="13.5" r="3.5"/><path d="M8 7l1.5-3h5L16 7"/>',
  'two-person-tent': '<path d="M2 20L12 4l10 16z"/><path d="M9.5 20L12 15l2.5 5"/>',
  'insulated-water-bottle':
    '<rect x="8" y="7" width="8" height="14" rx="2.5"/><path d="M9.5 7V4.5h5V7"/><path d="M8 12h8"/>',
  'trekking-poles':
    '<path d="M7 3l3 18M17 3l-3 18"/><path d="M6 3h3M15 3h3"/><path d="M8.3 11h2.2M13.5 11h2.2"/>',
  'down-sleeping-bag':
    '<rect x="6" y="2.5" width="12" height="19" rx="6"/><circle cx="12" cy="8" r="2.5"/><path d="M9 13h6M9 16.5h6"/>',
  'camping-stove':
    '<path d="M12 3c1 3 5 5 5 9a5 5 0 0 1-10 0c0-2 1-3.5 2-4.5.2 1.5 1 2.5 2 2.5 0-3 0-5 1-7z"/><path d="M5 21h14"/>',
  'daypack-25l':
    '<path d="M6 9a6 6 0 0 1 12 0v10a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2z"/><path d="M9 3.5h6"/><rect x="9" y="13" width="6" height="4" rx="1"/>',
  'headlamp-rechargeable':
    '<path d="M3 12a9 5 0 0 1 18 0"/><circle cx="12" cy="12" r="3"/><path d="M12 17v4M8 16l-2 3M16 16l2 3"/>',
  'folding-camp-chair': '<path d="M6 4l12 16M18 4L6 20"/><path d="M5 9h14"/><path d="M6 4h12"/>',
  'linen-throw-blanket':
    '<path d="M4 5h13a3 3 0 0 1 3 3v11H7a3 3 0 0 1-3-3z"/><path d="M4 16a3 3 0 0 1 3-3h13"/>',
  'soy-wax-candle':
    '<rect x="7" y="10" width="10" height="11" rx="1.5"/><path d="M12 10V8"/><path d="M12 3c1.5 1.7 1.5 3.5 0 5-1.5-1.5-1.5-3.3 0-5z"/>',
  'ceramic-table-lamp': '<path d="M8 3h8l3 8H5z"/><path d="M12 11v7"/><path d="M8 21h8"/>',
  'wool-area-rug':
    '<rect x="4" y="4" width="16" height="16"/><path d="M12 7l5 5-5 5-5-5z"/><path d="M2 6h2M2 10h2M2 14h2M2 18h2M20 6h2M20 10h2M20 14h2M20 18h2"/>',
  'monstera-planter':
    '<path d="M7 14h10l-1.5 7h-7z"/><path d="M12 14V8"/><path d="M12 10c-3 0-5-2-5-5 3 0 5 2 5 5zM12 8c0-3 2-5 5-5 0 3-2 5-5 5z"/>',
  'wall-clock-oak': '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  'cotton-bath-towels': '<rect x="5" y="3" width="14" height="18" rx="2"/><path d="M5 8h14M5 17h14"/>',
  'floating-wall-shelf':
    '<path d="M3 14h18"/><path d="M6 14v3M18 14v3"/><rect x="6" y="7" width="3" height="7"/><rect x="10" y="9" width="3" height="5"/><circle cx="16.5" cy="12" r="2"/>',
  'merino-crew-sweater':
    '<path d="M8.5 3L4 5.5 2.5 17l3 .5L7 9v12h10V9l1.5 8.5 3-.5L20 5.5 15.5 3c-.6 1.6-1.9 2.6-3.5 2.6S9.1 4.6 8.5 3z"/><path d="M7 18.5h10"/>',
  'rain-shell-jacket':
    '<path d="M9 3h6l5 3v14h-4v-6H8v6H4V6z"/><path d="M12 6v14"/><path d="M9 3c0 2 1.5 3 3 3s3-1 3-3"/>',
  'selvedge-denim-jeans': '<path d="M6 3h12l1 18h-5l-2-11-2 11H5z"/><path d="M6 6h12"/>',
  'trail-running-shoes':
    '<path d="M2 18v-8l5-2 2.5 3.5 5 1 6 2.5a2 2 0 0 1 1.5 2V18z"/><path d="M2 18h20"/><path d="M10 12l1-2M13 12.5l1-2"/>',
  'wool-beanie':
    '<path d="M4 17a8 8 0 0 1 16 0"/><rect x="3" y="16" width="18" height="4" rx="1.5"/><circle cx="12" cy="6.5" r="2"/>',
  'leather-belt':
    '<rect x="2" y="9" width="20" height="6" rx="1"/><rect x="6" y="7.5" width="6" height="9" rx="1"/><path d="M9 12h5"/><path d="M16.5 12h.01M19 12h.01"/>',
  'canvas-tote-bag': '<path d="M4 9h16l-1.5 12h-13z"/><path d="M8.5 9V7a3.5 3.5 0 0 1 7 0v2"/>',
  'wooden-building-blocks':
    '<rect x="3" y="13" width="8" height="8"/><rect x="13" y="13" width="8" height="8"/><path d="M12 3l4.5 8h-9z"/>',
  'jigsaw-puzzle-1000': '<path d="M4 8h4a2 2 0 1 1 4 0h4v4a2 2 0 1 1 0 4v4H4z"/>',
  'remote-control-car':
    '<path d="M3 15v-3l3-1 2-4h7l3 4 3 1v3z"/><circle cx="7" cy="16.5" r="2.5"/><circle cx="17" cy="16.5" r="2.5"/>',
  'plush-bear':
    '<circle cx="12" cy="13" r="7"/><circle cx="6" cy="6.5" r="2.5"/><circle cx="18" cy="6.5" r="2.5"/><path d="M10 12h.01M14 12h.01"/><path d="M10.5 15.5c.8.7 2.2.7 3 0"/>',
  'kids-art-set':
    '<path d="M12 3a9 9 0 0 0 0 18c1.5 0 2-1 2-2s-1-1.5-1-2.5 1-1.5 2-1.5h2a4 4 0 0 0 4-4c0-4.5-4-8-9-8z"/><circle cx="7.5" cy="11" r="1"/><circle cx="10" cy="7" r="1"/><circle cx="15" cy="7" r="1"/>',
  'magnetic-tiles':
    '<path d="M3 20l5-9 5 9z"/><rect x="13" y="11" width="8" height="9"/><path d="M8 11l5-8 5 8"/>',
  'card-game-party':
    '<rect x="4" y="5" width="11" height="15" rx="1.5" transform="rotate(-10 9.5 12.5)"/><rect x="9" y="4" width="11" height="15" rx="1.5"/><path d="M14.5 9l1.5 2.5-1.5 2.5-1.5-2.5z"/>',
};

const FALLBACK_ICON = '<circle cx="12" cy="12" r="8"/><path d="M12 8v8M8 12h8"/>';

/** FNV-1a: a stable small hash so each product gets its own variation. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Splits a name over at most two lines of about `width` characters, at the space that balances them best. */
export function wrap(text: string, width = 24): string[] {
  const words = text.trim().split(/\s+/);
  const clip = (line: string) => (line.length > width + 8 ? `${line.slice(0, width + 6).trimEnd()}…` : line);
  if (text.length <= width || words.length === 1) return [clip(words.join(' '))];
  let best = [words.join(' '), ''];
  for (let i = 1; i < words.length; i++) {
    const pair = [words.slice(0, i).join(' '), words.slice(i).join(' ')];
    if (Math.max(...pair.map((l) => l.length)) < Math.max(...best.map((l) => l.length))) best = pair;
  }
  return best.map(clip);
}

function pattern(kind: number, id: string): string {
  switch (kind) {
    case 0: // dots
      return `<pattern id="${id}" width="24" height="24" patternUnits="userSpaceOnUse"><circle cx="4" cy="4" r="2" fill="#fff" fill-opacity=".16"/></pattern>`;
    case 1: // diagonal stripes
      return `<pattern id="${id}" width="18" height="18" patternUnits="userSpaceOnUse" patternTransform="rotate(35)"><rect width="7" height="18" fill="#fff" fill-opacity=".09"/></pattern>`;
    case 2: // grid
      return `<pattern id="${id}" width="32" height="32" patternUnits="userSpaceOnUse"><path d="M32 0H0V32" fill="none" stroke="#fff" stroke-opacity=".14" stroke-width="1.5"/></pattern>`;
    default: // waves
      return `<pattern id="${id}" width="48" height="20" patternUnits="userSpaceOnUse"><path d="M0 10q12-10 24 0t24 0" fill="none" stroke="#fff" stroke-opacity=".15" stroke-width="2"/></pattern>`;
  }
}

const hsl = (h: number, s: number, l: number): string =>
  `hsl(${Math.round(((h % 360) + 360) % 360)} ${s}% ${l}%)`;

export function renderProductArt(product: ArtProduct, category: ArtCategory | undefined): string {
  const h = hash(product.id);
  const palette = PALETTES[product.category] ?? { hue: h % 360, spread: 30 };
  const hue = palette.hue + ((h % 41) - 20);
  const from = hsl(hue, 62, 54);
  const to = hsl(hue + palette.spread, 58, 34);
  const accent = hsl(hue + 180, 70, 88);
  const patternKind = (h >>> 8) % 4;
  const angle = ((h >>> 12) % 4) * 30 + 20;
  // The disc behind the icon drifts a little per product so the grid of cards does not look stamped.
  const discX = 240 + (((h >>> 16) % 61) - 30);
  const discY = 138 + (((h >>> 22) % 21) - 10);
  const discR = 74 + ((h >>> 4) % 14);
  const blobR = 120 + ((h >>> 18) % 50);
  const blobX = (h >>> 10) % 2 === 0 ? 40 : WIDTH - 40;
  const pid = `p${(h % 100000).toString(36)}`;
  const icon = PRODUCT_ICONS[product.id] ?? ICONS[product.category] ?? FALLBACK_ICON;
  const label = escapeXml((category?.name ?? product.category).toUpperCase());
  const lines = wrap(product.name);
  const baseY = lines.length === 1 ? 292 : 276;
  const text = lines
    .map(
      (line, i) =>
        `<text x="240" y="${baseY + i * 30}" text-anchor="middle" font-size="24" font-weight="700" fill="#fff">${escapeXml(line)}</text>`,
    )
    .join('');
  const labelWidth = Math.max(64, Math.round(label.length * 8.4 + 24));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(product.name)}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif">`,
    `<title>${escapeXml(product.name)}</title>`,
    '<defs>',
    `<linearGradient id="${pid}g" gradientTransform="rotate(${angle} .5 .5)"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient>`,
    pattern(patternKind, `${pid}t`),
    `<radialGradient id="${pid}s" cx=".5" cy=".4" r=".6"><stop offset="0" stop-color="#fff" stop-opacity=".35"/><stop offset="1" stop-color="#fff" stop-opacity=".08"/></radialGradient>`,
    '</defs>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="url(#${pid}g)"/>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="url(#${pid}t)"/>`,
    `<circle cx="${blobX}" cy="${HEIGHT}" r="${blobR}" fill="#000" fill-opacity=".12"/>`,
    `<circle cx="${discX}" cy="${discY}" r="${discR}" fill="url(#${pid}s)" stroke="#fff" stroke-opacity=".5" stroke-width="2"/>`,
    `<g transform="translate(${discX - 48} ${discY - 48}) scale(4)" fill="none" stroke="${accent}" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">${icon}</g>`,
    `<rect x="16" y="16" width="${labelWidth}" height="28" rx="14" fill="#000" fill-opacity=".22"/>`,
    `<text x="${16 + labelWidth / 2}" y="35" text-anchor="middle" font-size="12" font-weight="700" letter-spacing="1.5" fill="#fff">${label}</text>`,
    text,
    '</svg>',
    '',
  ].join('\n');
}

export function imageFileName(productId: string): string {
  return `${productId}.svg`;
}
