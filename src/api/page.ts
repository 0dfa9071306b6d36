import { readFileSync, readdirSync } from 'node:fs';

const DIR = new URL('./page/', import.meta.url);
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The operator page's files, read once: `/` is index.html, `/page/<file>` the rest. */
const assets = new Map<string, { body: string; type: string }>();
for (const file of safeList()) {
  const type = TYPES[file.split('.').pop() ?? ''];
  if (!type) continue;
  const body = readFileSync(new URL(file, DIR), 'utf8');
  assets.set(file === 'index.html' ? '/' : `/page/${file}`, { body, type });
}

function safeList(): string[] {
  try {
    return readdirSync(DIR);
  } catch {
    return [];
  }
}

export function pageAsset(path: string): { body: string; type: string } | undefined {
  return assets.get(path);
}
