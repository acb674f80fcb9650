/**
 * Headless Chromium for the playground's end-to-end test and benchmark: a static file server on
 * 127.0.0.1 for a built folder, the system Chromium driven by playwright-core (which downloads no
 * browser), console and page errors collected, screenshots, and PNG pixel counts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';

/** Where the system Chromium is looked for (`.ci/apt/runtime.txt` installs Debian's `chromium`). */
export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The first Chromium found (CHROMIUM_PATH first), or undefined. */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM_PATH;
  return [...(env ? [env] : []), ...CHROMIUM_PATHS].find((p) => existsSync(p));
}

/**
 * Chromium flags for headless WebGL and WebGPU on a machine without a GPU: WebGL through ANGLE on
 * SwiftShader, WebGPU (behind its flag on Linux) on SwiftShader's Vulkan.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-dev-shm-usage',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
};

/** Serves `dir` on 127.0.0.1 (an ephemeral port); resolves to the server and its base URL. */
export async function serveStatic(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(normalize(dir) + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

export interface OpenedPage {
  readonly page: Page;
  /** console.error messages and uncaught page errors, in order. */
  readonly errors: string[];
  /** Every console message, `type: text`. */
  readonly console: string[];
}

export async function launch(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Opens `url` in a new page of `browser` (1280 × 900), collecting errors from the start. */
export async function openPage(browser: Browser, url: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const messages: string[] = [];
  page.on('console', (m) => {
    messages.push(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(url);
  return { page, errors, console: messages };
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** `[r, g, b]` of a '#rrggbb' colour. */
export const rgb = (hex: string): [number, number, number] => {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`colour ${hex}, expected #rrggbb`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
};

export interface Image {
  readonly width: number;
  readonly height: number;
  /** RGBA, row-major. */
  readonly data: Uint8Array;
}

/** Decodes a PNG (a screenshot) to RGBA pixels. */
export const decodePng = (png: Buffer): Image => PNG.sync.read(png);

/**
 * Pixels of an image inside `rect` (CSS pixels; `scale` device pixels per CSS pixel) whose colour
 * is within `tolerance` (max channel difference) of `colour`.
 */
export function countPixels(img: Image, rect: Rect, colour: [number, number, number], tolerance = 40, scale = 1): number {
  const x0 = Math.max(0, Math.floor(rect.x * scale));
  const y0 = Math.max(0, Math.floor(rect.y * scale));
  const x1 = Math.min(img.width, Math.ceil((rect.x + rect.width) * scale));
  const y1 = Math.min(img.height, Math.ceil((rect.y + rect.height) * scale));
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = 4 * (y * img.width + x);
      if (
        Math.abs(img.data[i]! - colour[0]) <= tolerance &&
        Math.abs(img.data[i + 1]! - colour[1]) <= tolerance &&
        Math.abs(img.data[i + 2]! - colour[2]) <= tolerance
      ) {
        n++;
      }
    }
  }
  return n;
}
