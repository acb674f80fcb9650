// The shared headless-Chromium helpers now live in tools/browser (see its README).
export * from '../../../tools/browser/chromium';
