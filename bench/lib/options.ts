// `npm run bench` options: defaults per mode (full / --quick) and the command line.

import path from 'node:path';
import { WORKLOADS } from './workloads.js';

const HELP = (): string =>
  [
    'usage: npm run bench -- [options]',
    '  --quick              a few minutes: 1 repetition, short runs, fewer workloads (all checklist targets kept)',
    '  --reps N             repetitions per workload x target (default 3; quick 1)',
    '  --seconds S          length of each measured run (default 2.5; quick 0.5)',
    `  --only a,b           only these workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`,
    '  --skip-targets a,b   leave these targets out (e.g. proxy while src/ is broken)',
    '  --skip-memory        skip the 1,000,000-entry memory measurement',
    '  --mem-entries N      entries for the memory measurement (default 1,000,000; quick 250,000)',
    '  --skip-staleness     skip the staleness window of direct writes',
    '  --skip-large-values  skip the 600 x 1 MiB SET/GET batches',
    '  --skip-slow-readers  skip the peak RSS under 50 slow-reading clients',
    '  --staleness-samples N  samples for it (default 1000; quick 300)',
    '  --no-build           do not rebuild dist/ when it is stale',
    '  --delay-ms X         one-way delay of the delay relay (default 0.5)',
    '  --budget S           shorten runs so the whole run fits in S seconds (default 1200; quick 300; 0 = off)',
    '  --out DIR            where results go (default bench/results)',
    '',
  ].join('\n');

export interface Options {
  quick: boolean;
  reps: number;
  runSeconds: number;
  only: string[] | null;
  skipTargets: string[];
  memory: boolean;
  memEntries: number;
  /** also measure the ceiling server's Map with the same entries, for scale */
  memCeiling: boolean;
  /** measure the staleness window of direct writes through the cache-on proxy */
  staleness: boolean;
  stalenessSamples: number;
  largeValues: boolean;
  slowReaders: boolean;
  build: boolean;
  delayMs: number;
  outDir: string;
  /** whole-run time budget in seconds (0 = none): runs are shortened to fit */
  budgetSeconds: number;
}

export function parseArgs(argv: string[], repoRoot: string): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    reps: quick ? 1 : 3,
    runSeconds: quick ? 0.5 : 2.5,
    only: null,
    skipTargets: [],
    memory: true,
    memEntries: quick ? 250_000 : 1_000_000,
    memCeiling: !quick,
    staleness: true,
    stalenessSamples: quick ? 300 : 1000,
    largeValues: true,
    slowReaders: true,
    build: true,
    delayMs: 0.5,
    outDir: path.join(repoRoot, 'bench', 'results'),
    budgetSeconds: quick ? 300 : 1200, // the workloads; the phases after them have a reserve of their own (reservedSeconds)
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      i++;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a non-negative number`);
      return n;
    };
    switch (a) {
      case '--quick':
        break;
      case '--reps':
        o.reps = Math.max(1, Math.floor(num()));
        break;
      case '--seconds':
        o.runSeconds = Math.max(0.2, num());
        break;
      case '--only':
        o.only = (v ?? '').split(',').filter(Boolean);
        i++;
        break;
      case '--skip-targets':
        o.skipTargets = (v ?? '').split(',').filter(Boolean);
        i++;
        break;
      case '--skip-memory':
        o.memory = false;
        break;
      case '--mem-entries':
        o.memEntries = Math.max(1000, Math.floor(num()));
        break;
      case '--skip-staleness':
        o.staleness = false;
        break;
      case '--skip-large-values':
        o.largeValues = false;
        break;
      case '--skip-slow-readers':
        o.slowReaders = false;
        break;
      case '--staleness-samples':
        o.stalenessSamples = Math.max(10, Math.min(100_000, Math.floor(num())));
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--delay-ms':
        o.delayMs = num();
        break;
      case '--budget':
        o.budgetSeconds = num();
        break;
      case '--out':
        o.outDir = path.resolve(v ?? o.outDir);
        i++;
        break;
      case '--help':
      case '-h':
        process.stdout.write(HELP());
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}
