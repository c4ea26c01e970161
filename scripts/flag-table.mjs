#!/usr/bin/env node
// Prints the README's settings table from the flag table in src/config.ts (via dist/, so
// build first: npm run build). Paste its output into README.md when a flag changes.
//
//   node scripts/flag-table.mjs

import { FLAGS, envName } from '../dist/config.js';

const NOT_IN_FILE = new Set(['config']);

const rows = [
  '| Flag | Environment variable | Config file key | Default | On SIGHUP | Meaning |',
  '|---|---|---|---|---|---|',
];
for (const f of FLAGS) {
  const flag = f.arg ? `\`--${f.name} ${f.arg}\`` : `\`--${f.name}\``;
  const def = f.defaultLabel ?? (f.default === '' ? 'none' : f.default);
  const reload = f.live ? `live${f.liveNote ? ` (${f.liveNote})` : ''}` : 'restart';
  const key = NOT_IN_FILE.has(f.name) ? '' : `\`${f.name}\``;
  // `doc` is markdown already; `help` is plain text, where `<word>` would be taken for an HTML tag
  const meaning = f.doc ?? `${f.help.replace(/</g, '&lt;').replace(/>/g, '&gt;')}.`;
  const defaultCell = f.defaultLabel !== undefined && !/^\d/.test(def) ? def : `\`${def}\``;
  rows.push(`| ${flag} | \`${envName(f.name)}\` | ${key} | ${defaultCell} | ${reload} | ${meaning.replace(/\|/g, '\\|')} |`);
}
rows.push('| `--print-config` | | | | | Print the resulting configuration as JSON (password hidden) and exit. |');
rows.push('| `-h`, `--help` | | | | | Print the help and exit. |');
rows.push('| `-v`, `--version` | | | | | Print the version and exit. |');
process.stdout.write(`${rows.join('\n')}\n`);
