/**
 * Headless Chromium for the repository's browser tests (tools/test/browser.test.ts, the
 * playground's end-to-end test and benchmark, the consumer test): a browser bundle built with
 * esbuild that fails when a Node built-in or a Node build of tfjs is reached (`bundleForBrowser`),
 * a static file server on 127.0.0.1 for a folder, the system Chromium driven by playwright-core
 * (which downloads no browser), console and page errors collected, screenshots, PNG pixel
 * counts, and all of it in one call (`runInChromium`). See tools/browser/README.md.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, relative, sep } from 'node:path';
import type { Metafile, Plugin } from 'esbuild';
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

/** The repository's root: the first folder up from here (or, bundled elsewhere, from the working directory) with nx.json. */
export const REPO_ROOT = ((): string => {
  for (const start of [__dirname, process.cwd()]) {
    for (let d = start; ; d = dirname(d)) {
      if (existsSync(join(d, 'nx.json'))) return d;
      if (dirname(d) === d) break;
    }
  }
  return process.cwd();
})();

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const BUILTIN_FILTER = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`);

/** A Node built-in (or a Node build of tfjs) that a browser bundle reached, and from where. */
export interface NodeOnlyReach {
  readonly what: string;
  readonly importer: string;
}

/** Thrown by `bundleForBrowser` when the bundle reaches Node-only code; the message lists every reach. */
export class NodeOnlyReachedError extends Error {
  constructor(readonly reached: readonly NodeOnlyReach[]) {
    super(
      `the browser bundle reaches Node-only code:\n${reached.map((r) => `  ${r.what}  (imported by ${r.importer})`).join('\n')}`,
    );
    this.name = 'NodeOnlyReachedError';
  }
}

export interface BrowserBundleOptions {
  /** The program to bundle (TypeScript or JavaScript). It must sit inside the repository (or the project whose node_modules it uses). */
  readonly entry: string;
  readonly outfile: string;
  /**
   * Extra export conditions. Default ['lets-source']: workspace packages resolve to their
   * TypeScript sources (src/browser.ts or src/index.ts through each package's exports), so no
   * build is needed; pass [] to bundle installed packages' dist/ (the consumer test).
   */
  readonly conditions?: readonly string[];
  /** A tsconfig for esbuild (default: one without the repository's `paths`, which point at the Node entries). */
  readonly tsconfig?: string;
  readonly minify?: boolean;
}

export interface BrowserBundle {
  readonly outfile: string;
  readonly bytes: number;
  readonly metafile: Metafile;
  /** Input files of the bundle from this repository's packages (packages/<name>/src/…), sorted. */
  readonly workspaceInputs: readonly string[];
}

/**
 * Bundles `entry` for a browser with esbuild (`platform: 'browser'`, ES module) and fails with a
 * NodeOnlyReachedError if the bundle reaches a Node built-in (`fs`, `node:path`, … imported by
 * any file outside node_modules, or by a package that does not disable it for browsers through
 * its `browser` field) or a Node build of tfjs (`dist/*.node.js`). Files of node_modules that
 * map a built-in to `false` in their own `browser` field (tfjs-core: `crypto`, `util`) are the
 * package's business and pass.
 */
export async function bundleForBrowser(options: BrowserBundleOptions): Promise<BrowserBundle> {
  const { build } = await import('esbuild');
  const reached: NodeOnlyReach[] = [];
  const rel = (f: string) => relative(REPO_ROOT, f) || f;
  const guard: Plugin = {
    name: 'node-only-guard',
    setup(b) {
      b.onResolve({ filter: BUILTIN_FILTER }, (args) => {
        if (!BUILTINS.has(args.path)) return undefined;
        // our own code may not import a built-in at all
        if (!args.importer.includes(`${sep}node_modules${sep}`)) {
          reached.push({ what: `Node built-in '${args.path}'`, importer: rel(args.importer) });
          return { path: args.path, namespace: 'node-only', sideEffects: false };
        }
        return undefined; // esbuild applies the package's browser field, or reports the built-in
      });
      // an empty CommonJS module, so that named imports of it still bundle and every reach is listed
      b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    },
  };
  let tsconfig = options.tsconfig;
  if (tsconfig === undefined) {
    tsconfig = join(REPO_ROOT, 'tmp', 'browser', 'tsconfig.json');
    mkdirSync(dirname(tsconfig), { recursive: true });
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true, useDefineForClassFields: true } }));
  }
  mkdirSync(dirname(options.outfile), { recursive: true });
  let result;
  try {
    result = await build({
      entryPoints: [options.entry],
      outfile: options.outfile,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions: [...(options.conditions ?? ['lets-source'])],
      tsconfig,
      metafile: true,
      minify: options.minify ?? false,
      sourcemap: 'linked',
      logLevel: 'silent',
      plugins: [guard],
    });
  } catch (e) {
    // esbuild names each built-in it could not resolve ("…is built into node…")
    const errors = (e as { errors?: { text: string; location?: { file: string } | null }[] }).errors ?? [];
    const builtins = errors.filter((x) => /built into node|Could not resolve "(node:)?[a-z_/]+"/.test(x.text));
    if (builtins.length > 0 || reached.length > 0) {
      throw new NodeOnlyReachedError([...reached, ...builtins.map((x) => ({ what: x.text.split('\n')[0]!, importer: x.location?.file ?? '?' }))]);
    }
    throw e;
  }
  const metafile = result.metafile!;
  for (const input of Object.keys(metafile.inputs)) {
    if (/@tensorflow\/[^/]+\/dist\/[^/]*\.node\.js$/.test(input)) {
      const importer = Object.entries(metafile.inputs).find(([, i]) => i.imports.some((x) => x.path === input))?.[0] ?? '?';
      reached.push({ what: `the Node build of tfjs ${input}`, importer });
    }
  }
  if (reached.length > 0) throw new NodeOnlyReachedError(reached);
  const workspaceInputs = Object.keys(metafile.inputs)
    .filter((f) => /^packages\/[^/]+\/src\//.test(f))
    .sort();
  return { outfile: options.outfile, bytes: statSync(options.outfile).size, metafile, workspaceInputs };
}

export interface ChromiumRun<R> {
  /** What the page put in `window.__result` (JSON). */
  readonly result: R;
  /** console.error messages and uncaught page errors, in order. */
  readonly errors: readonly string[];
  /** Every console message, `type: text`. */
  readonly console: readonly string[];
  /** The screenshot's file, when one was asked for. */
  readonly screenshot?: string;
}

/**
 * Serves `dir` (an index.html loading the bundle), opens `page` (default index.html, with a
 * `query`) in `browser`, waits until the page sets `window.__result` (an object; a page that fails
 * sets `{ error }`), and returns it with the console and page errors; optionally screenshots.
 */
export async function runInChromium<R>(
  browser: Browser,
  dir: string,
  options: { readonly query?: string; readonly timeoutMs?: number; readonly screenshot?: string } = {},
): Promise<ChromiumRun<R>> {
  const { server, url } = await serveStatic(dir);
  try {
    const opened = await openPage(browser, `${url}${options.query ? `?${options.query}` : ''}`);
    try {
      await opened.page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, {
        timeout: options.timeoutMs ?? 60_000,
        polling: 100,
      });
      const result = (await opened.page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __result: unknown }).__result)))) as R;
      if (options.screenshot !== undefined) {
        mkdirSync(dirname(options.screenshot), { recursive: true });
        await opened.page.screenshot({ path: options.screenshot });
      }
      return { result, errors: opened.errors, console: opened.console, ...(options.screenshot !== undefined ? { screenshot: options.screenshot } : {}) };
    } finally {
      await opened.page.close();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A minimal page for a bundle: `<script type="module" src="{script}">`. */
export function writeIndexHtml(dir: string, script: string, title = 'lets browser test'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html>\n<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title></head>\n<body><pre id="out"></pre><script type="module" src="${script}"></script></body></html>\n`,
  );
}
