// Recognise a licence from the text of its file (LICENSE, COPYING, ...): the SPDX
// identifier of the common open-source licences and of the Elastic License 2.0.
// Recognition is by the licence's own distinctive sentences, not a full-text
// comparison: `undefined` means "not recognised", never a guess.

const norm = (t: string) => t.replace(/\s+/g, ' ').toLowerCase();

interface Rule {
  id: string;
  test: (t: string) => boolean;
}

const has = (t: string, ...parts: string[]) => parts.every((p) => t.includes(p));

// Order matters: the more specific texts first (LGPL and AGPL mention the GPL, BSD-3 contains BSD-2).
const RULES: Rule[] = [
  { id: 'Elastic-2.0', test: (t) => has(t, 'elastic license 2.0') || (has(t, 'elastic license') && has(t, 'limitations') && has(t, 'you may not provide the software to third parties as a hosted or managed service')) },
  { id: 'Apache-2.0', test: (t) => has(t, 'apache license') && /version 2\.0/.test(t) },
  { id: 'MPL-2.0', test: (t) => /mozilla public license,? version 2\.0/.test(t) },
  { id: 'AGPL-3.0', test: (t) => has(t, 'gnu affero general public license') && has(t, 'version 3') },
  { id: 'LGPL-3.0', test: (t) => has(t, 'gnu lesser general public license') && has(t, 'version 3') },
  { id: 'LGPL-2.1', test: (t) => (has(t, 'gnu lesser general public license') || has(t, 'gnu library general public license')) && has(t, 'version 2.1') },
  { id: 'LGPL-2.0', test: (t) => has(t, 'gnu library general public license') && has(t, 'version 2,') },
  { id: 'GPL-3.0', test: (t) => has(t, 'gnu general public license') && has(t, 'version 3') },
  { id: 'GPL-2.0', test: (t) => has(t, 'gnu general public license') && has(t, 'version 2') },
  { id: 'ISC', test: (t) => has(t, 'permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted') || has(t, 'permission to use, copy, modify, and distribute this software for any purpose with or without fee is hereby granted') },
  { id: 'MIT', test: (t) => has(t, 'permission is hereby granted, free of charge, to any person obtaining a copy') && has(t, 'the above copyright notice and this permission notice shall be included') },
  {
    id: 'BSD-3-Clause',
    test: (t) => has(t, 'redistribution and use in source and binary forms') && /neither the name of .{0,200}(may|shall) (not )?be used to endorse or promote/.test(t),
  },
  { id: 'BSD-2-Clause', test: (t) => has(t, 'redistribution and use in source and binary forms') && has(t, 'redistributions in binary form must reproduce') },
  { id: 'Unlicense', test: (t) => has(t, 'this is free and unencumbered software released into the public domain') },
];

/**
 * The SPDX identifier of a licence text, or undefined when it is not recognised.
 * GPL and LGPL come back as the (deprecated, still valid) bare ids `GPL-2.0`, `GPL-3.0`,
 * `LGPL-2.1`, `LGPL-3.0`, `AGPL-3.0`: the licence text alone does not say "only" or "or later"
 * (that is in the project's source headers).
 */
export function spdxFromText(text: string): string | undefined {
  const t = norm(text.slice(0, 200_000));
  for (const r of RULES) if (r.test(t)) return r.id;
  return undefined;
}

/** File names that hold a licence: LICENSE, LICENCE, COPYING, with any suffix (LICENSE.md, LICENSE-MIT, COPYING.LESSER). */
export function isLicenceFileName(name: string): boolean {
  return /^(licen[cs]e|copying)([._-].*)?$/i.test(name);
}
