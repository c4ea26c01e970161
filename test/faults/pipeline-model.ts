// A pipeline of mixed SET/GET/INCR commands whose every reply can be checked on its own,
// so a reply that belongs to another command (a shifted stream) is always caught:
//   SET t:k<i> v<t>:<i>   → +OK
//   GET t:k<i>            → the value just set
//   INCR t:n              → exactly one more than the last INCR that was answered
//   GET t:n               → the value of the last INCR
// A reply is either right, or an error from the proxy naming the cause ("-ERR RedisProxy: ...").
import { cmd } from '../helpers/index.js';
import { escapeBytes } from '../helpers/util.js';

export type Kind = 'set' | 'get' | 'incr' | 'getn' | 'ok';

export interface PipelineCmd {
  kind: Kind;
  bytes: string;
  /** SET/GET: the value */
  value?: string;
}

/** n commands for tag `t`; `insert` puts extra commands (expecting +OK) before index `at`. */
export function mixedPipeline(t: string, n: number, insert?: { at: number; args: string[] }): PipelineCmd[] {
  const out: PipelineCmd[] = [];
  for (let i = 0; i < n; i++) {
    if (insert && i === insert.at) out.push({ kind: 'ok', bytes: cmd(...insert.args) });
    const j = i - (i % 4);
    switch (i % 4) {
      case 0:
        out.push({ kind: 'set', bytes: cmd('SET', `${t}:k${j}`, `v${t}:${j}`), value: `v${t}:${j}` });
        break;
      case 1:
        out.push({ kind: 'get', bytes: cmd('GET', `${t}:k${j}`), value: `v${t}:${j}` });
        break;
      case 2:
        out.push({ kind: 'incr', bytes: cmd('INCR', `${t}:n`) });
        break;
      default:
        out.push({ kind: 'getn', bytes: cmd('GET', `${t}:n`) });
    }
  }
  return out;
}

export interface Verdict {
  correct: number;
  proxyErrors: number;
  /** index of the first proxy error, -1 if none */
  firstError: number;
  /** replies that are neither right nor a proxy error: each one is a bug */
  problems: string[];
  /** distinct proxy error texts */
  errorTexts: Set<string>;
}

const PROXY_ERROR = /^-ERR RedisProxy: [^\r\n]+\r\n$/;

function bulk(s: string): string {
  return `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;
}

/** Checks each reply against its command (frames beyond the commands are problems too). */
export function verify(cmds: PipelineCmd[], frames: Buffer[]): Verdict {
  const v: Verdict = { correct: 0, proxyErrors: 0, firstError: -1, problems: [], errorTexts: new Set() };
  let lastIncr = 0; // value of the last answered INCR
  let incrsUnanswered = 0; // INCRs since then that got an error (Redis may or may not have run them)
  let lastIncrAnswered = true;
  const n = Math.min(cmds.length, frames.length);
  for (let i = 0; i < n; i++) {
    const c = cmds[i];
    const f = frames[i].toString('latin1');
    if (PROXY_ERROR.test(f)) {
      v.proxyErrors++;
      if (v.firstError < 0) v.firstError = i;
      v.errorTexts.add(f.slice(1, -2));
      if (c.kind === 'incr') {
        incrsUnanswered++;
        lastIncrAnswered = false;
      }
      continue;
    }
    let ok = false;
    switch (c.kind) {
      case 'ok':
      case 'set':
        ok = f === '+OK\r\n';
        break;
      case 'get':
        ok = f === bulk(c.value!);
        break;
      case 'incr': {
        const m = /^:(\d+)\r\n$/.exec(f);
        const got = m ? Number(m[1]) : NaN;
        ok = got >= lastIncr + 1 && got <= lastIncr + 1 + incrsUnanswered;
        if (ok) {
          lastIncr = got;
          incrsUnanswered = 0;
          lastIncrAnswered = true;
        }
        break;
      }
      case 'getn': {
        const m = /^\$\d+\r\n(\d+)\r\n$/.exec(f);
        const got = m ? Number(m[1]) : NaN;
        ok = lastIncrAnswered ? got === lastIncr : got >= lastIncr && got <= lastIncr + incrsUnanswered;
        break;
      }
    }
    if (ok) v.correct++;
    else if (v.problems.length < 10) v.problems.push(`reply #${i} to ${escapeBytes(Buffer.from(c.bytes, 'latin1'), 80)} was "${escapeBytes(frames[i], 120)}"`);
    else v.problems.push('');
  }
  for (let i = n; i < frames.length; i++) v.problems.push(`extra reply #${i}: "${escapeBytes(frames[i], 120)}"`);
  return v;
}

export function joinBytes(cmds: PipelineCmd[]): Buffer {
  return Buffer.from(cmds.map((c) => c.bytes).join(''), 'latin1');
}
