// A pipeline of mixed SET/GET/INCR commands whose every reply can be checked on its own,
// so a reply that belongs to another command (a shifted stream) is always caught:
//   SET t:k<i> v<t>:<i>   → +OK
//   GET t:k<i>            → the value just set
//   INCR t:n              → exactly one more than the INCR before it (from 1)
//   GET t:n               → the value of the last INCR
// The proxy never answers a forwarded command itself (contract §4.2): when the Redis
// connection serving a client is lost, the client gets the replies Redis sent, in order,
// and then its connection closes. So the replies received are always a prefix of the
// right replies: an error made up by the proxy ("-ERR RedisProxy: ...") or any other
// reply is a problem, and so is a reply beyond the last command.
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
  /** replies received that were right for their command, in order */
  correct: number;
  /** replies received (right or not) */
  answered: number;
  /** replies that are not the right one for their command, or have no command: each one is a bug */
  problems: string[];
}

/** A reply the proxy made up: the old way of reporting a lost connection, never allowed now. */
export const PROXY_ERROR = /^-ERR RedisProxy\b/;

function bulk(s: string): string {
  return `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;
}

/**
 * Checks that `frames` are the right replies to the first frames.length commands of
 * `cmds`, in order (a connection ended by a fault stops part-way; what arrived must
 * still be right). The commands of one pipeline run on one Redis connection, in order,
 * so each INCR is exactly one more than the one before it.
 */
export function verify(cmds: PipelineCmd[], frames: Buffer[]): Verdict {
  const v: Verdict = { correct: 0, answered: frames.length, problems: [] };
  let lastIncr = 0; // value of the last INCR answered
  const n = Math.min(cmds.length, frames.length);
  const problem = (text: string) => v.problems.push(v.problems.length < 10 ? text : '');
  for (let i = 0; i < n; i++) {
    const c = cmds[i];
    const f = frames[i].toString('latin1');
    let ok = false;
    switch (c.kind) {
      case 'ok':
      case 'set':
        ok = f === '+OK\r\n';
        break;
      case 'get':
        ok = f === bulk(c.value!);
        break;
      case 'incr':
        ok = f === `:${lastIncr + 1}\r\n`;
        lastIncr++;
        break;
      case 'getn':
        ok = f === bulk(String(lastIncr));
        break;
    }
    if (ok) v.correct++;
    else {
      const made = PROXY_ERROR.test(f) ? ' (an error made up by the proxy)' : '';
      problem(`reply #${i} to ${escapeBytes(Buffer.from(c.bytes, 'latin1'), 80)} was "${escapeBytes(frames[i], 120)}"${made}`);
    }
  }
  for (let i = n; i < frames.length; i++) problem(`extra reply #${i} (no command of the pipeline left for it): "${escapeBytes(frames[i], 120)}"`);
  return v;
}

export function joinBytes(cmds: PipelineCmd[]): Buffer {
  return Buffer.from(cmds.map((c) => c.bytes).join(''), 'latin1');
}
