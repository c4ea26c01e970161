// Re-renders latest.md / latest.svg (and the checklist) from a results JSON with the
// current report code: `node --import tsx bench/report-from-json.ts bench/results/<file>.json`.

import fs from 'node:fs';
import path from 'node:path';
import { checklist } from './lib/checklist.js';
import { markdown } from './lib/markdown.js';
import { summarize, type Results } from './lib/report.js';
import { svg } from './lib/svg.js';

const file = process.argv[2];
if (!file) throw new Error('usage: report-from-json.ts <results.json>');
const res = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
res.summaries = summarize(res.runs);
res.checklist = checklist(res);
const dir = path.dirname(file);
fs.writeFileSync(path.join(dir, 'latest.md'), markdown(res));
fs.writeFileSync(path.join(dir, 'latest.svg'), svg(res, res.workloads));
process.stdout.write(`wrote ${path.join(dir, 'latest.md')}\n`);
