// Issue 10, item 5: a secret is masked in its common encodings too (base64 standard and url-safe,
// with and without padding, inside an HTTP Basic header; URL-encoded by encodeURIComponent and in
// form style with `+`; JSON-escaped once and twice, and \uXXXX-escaped as Python writes it),
// wherever the host prints text: its log (connector stderr, LOG, TRACE) and its error message.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, itemsCatalog } from '../helpers.js';
import { put, hostile } from './helpers.js';

function encodings(p: string): Record<string, string> {
  const b64 = Buffer.from(p).toString('base64');
  const basic = Buffer.from(`user:${p}`).toString('base64');
  return {
    base64: b64,
    'base64 without padding': b64.replace(/=+$/, ''),
    'base64 url-safe': b64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''),
    // the characters of the Basic header that carry only the password's bytes
    'base64 inside Basic': basic.slice(Math.ceil((8 * 5) / 6), Math.floor((8 * Buffer.byteLength(`user:${p}`)) / 6)),
    encodeURIComponent: encodeURIComponent(p),
    'form encoding': new URLSearchParams({ p }).toString().slice(2),
    'JSON-escaped': JSON.stringify(p).slice(1, -1),
    'JSON-escaped twice': JSON.stringify(JSON.stringify(p)).slice(1, -1),
    'JSON \\u-escaped': JSON.stringify(p).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')),
  };
}

describe('the encodings of a secret are masked', () => {
  it.each([
    ['with spaces, slashes, plus, quotes and non-ASCII', 'Zx9 p@ss/wörd+"q"&k=v'],
    ['a long token whose base64 has url-unsafe characters', '>>>?Zx9~~~???>>>token'],
  ])('check and read: %s', async (_what, password) => {
    const dir = tmp();
    const cfg = put(dir, 'c.json', JSON.stringify({ password }));
    for (const args of [
      ['check', '--config', cfg, '--', process.execPath, hostile('leak-encoded')],
      ['read', '--config', cfg, '--catalog', itemsCatalog(dir), '--out', join(dir, 'out'), '--log-level', 'debug', '--', process.execPath, hostile('leak-encoded')],
    ]) {
      const r = await host(args);
      expect(r.exitCode).not.toBe(0);
      const text = r.stdout + r.stderr;
      expect(text).toContain('leaking: ');
      expect(text).toContain('**********');
      for (const [name, form] of Object.entries(encodings(password))) expect(text, `${name} (${form}) in ${args[0]}`).not.toContain(form);
    }
  });
});
