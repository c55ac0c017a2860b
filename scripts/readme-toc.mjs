#!/usr/bin/env node
// Rewrites the README's "## Contents" list from its ## and ### headings
// (test/docs/readme.test.ts checks that it is up to date).
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../README.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const anchor = (t) => t.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
const start = text.indexOf('## Contents\n');
const end = text.indexOf('\n## ', start + 1);
if (start < 0 || end < 0) throw new Error('README.md has no "## Contents" section followed by another section');
const body = text.slice(text.indexOf('\n## ', text.indexOf('# connector-host')));
const heads = [...body.replace(/```[\s\S]*?```/g, '').matchAll(/^(#{2,3}) (.+)$/gm)].filter((m) => m[2] !== 'Contents');
const list = heads.map((m) => `${m[1] === '###' ? '  ' : ''}- [${m[2]}](#${anchor(m[2])})`).join('\n');
writeFileSync(file, `${text.slice(0, start)}## Contents\n\n${list}\n${text.slice(end)}`);
