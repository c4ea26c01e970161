// Runs a Dockerfile's steps without Docker: each stage gets a scratch directory that
// stands for the image's root, COPY takes files from the build context as .dockerignore
// filters it (or from an earlier stage), RUN runs the same shell command in the stage's
// WORKDIR with the stage's ENV, and the final CMD and HEALTHCHECK are returned to be run
// the same way. What this cannot check is the base image itself (Node there, not here)
// and USER (the commands run as whoever runs the tests).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  from: string;
  name: string | null;
  steps: Instruction[];
}

/** Instructions, with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`cannot read Dockerfile line: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: f[1]!, name: f[2] ?? null, steps: [] });
    } else {
      if (stages.length === 0) throw new Error(`${op} before FROM`);
      stages[stages.length - 1]!.steps.push({ op, args });
    }
  }
  return stages;
}

/** `K=V K2="V 2"` or the old `K V` form. */
export function parseEnv(args: string): [string, string][] {
  if (!/^\S+=/.test(args)) {
    const i = args.search(/\s/);
    return [[args.slice(0, i), args.slice(i).trim()]];
  }
  const out: [string, string][] = [];
  for (const m of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out.push([m[1]!, m[3] ?? m[2]!]);
  return out;
}

/** .dockerignore: later patterns win, `!` re-includes, a pattern matching a directory covers what is in it. */
export function dockerignore(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = new RegExp(`^${pat.split('**').map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*')}$`);
      return { negate, re };
    });
  return (rel: string) => {
    const parts = rel.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return excluded;
  };
}

/** Every file of the context that .dockerignore lets in, relative to `root`. */
export function contextFiles(root: string): string[] {
  let ignored: (rel: string) => boolean = () => false;
  try {
    ignored = dockerignore(readFileSync(path.join(root, '.dockerignore'), 'utf8'));
  } catch {
    // no .dockerignore: everything is in the context
  }
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name === '.git' || e.name === 'node_modules') {
          if (!ignored(r)) throw new Error(`${r} would be sent to the Docker daemon: .dockerignore must exclude it`);
          continue;
        }
        walk(r);
      } else if (!ignored(r)) out.push(r);
    }
  };
  walk('');
  return out;
}

export interface BuiltImage {
  /** the final stage's root directory */
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  healthcheck: string[] | null;
  exposed: number[];
  user: string | null;
  /** what each RUN printed, for failures */
  log: string;
}

function run(cmd: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * Builds every stage in `scratch`; throws with the RUN output when a step fails. Stages
 * run side by side, and a COPY --from waits for the stage it names, as BuildKit does.
 */
export async function buildStages(stages: Stage[], contextRoot: string, scratch: string, baseEnv: Record<string, string>): Promise<BuiltImage> {
  const context = contextFiles(contextRoot);
  const built = new Map<string, Promise<BuiltImage>>();
  let log = '';
  const buildOne = async (stage: Stage, i: number): Promise<BuiltImage> => {
    const root = path.join(scratch, `stage-${i}`);
    mkdirSync(root, { recursive: true });
    const img: BuiltImage = { root, workdir: '/', env: {}, cmd: [], healthcheck: null, exposed: [], user: null, log: '' };
    const inRoot = (p: string) => path.join(root, path.posix.resolve(img.workdir, p));
    for (const { op, args } of stage.steps) {
      if (op === 'WORKDIR') {
        img.workdir = path.posix.resolve(img.workdir, args);
        mkdirSync(inRoot('.'), { recursive: true });
      } else if (op === 'ENV') {
        for (const [k, v] of parseEnv(args)) img.env[k] = v;
      } else if (op === 'COPY') {
        const words = args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const rest = words.filter((w) => !w.startsWith('--'));
        const dest = rest.pop()!;
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        for (const src of rest) {
          if (from !== undefined) {
            const other = built.get(from);
            if (!other) throw new Error(`COPY --from=${from}: no such stage before this one`);
            cpSync(path.join((await other).root, src), inRoot(dest), { recursive: true });
            continue;
          }
          const clean = src.replace(/^\.\/|\/$/g, '');
          const files = context.filter((f) => f === clean || f.startsWith(`${clean}/`));
          if (files.length === 0) throw new Error(`COPY ${src}: not in the build context (check .dockerignore)`);
          for (const f of files) {
            const isDirCopy = f !== clean;
            const target = isDirCopy ? path.join(inRoot(dest), f.slice(clean.length + 1)) : dest.endsWith('/') ? path.join(inRoot(dest), path.basename(f)) : inRoot(dest);
            mkdirSync(path.dirname(target), { recursive: true });
            cpSync(path.join(contextRoot, f), target);
          }
        }
      } else if (op === 'RUN') {
        // a cache mount only keeps a cache out of the layer; here the commands use this machine's
        const mounts = /^((?:--mount=\S+\s+)*)([\s\S]*)$/.exec(args)!;
        for (const m of mounts[1]!.trim().split(/\s+/).filter(Boolean)) {
          if (!/^--mount=type=cache,/.test(m)) throw new Error(`RUN ${m}: only cache mounts are understood here`);
        }
        const cmd = mounts[2]!;
        const r = await run(cmd, inRoot('.'), { ...baseEnv, ...img.env });
        log += `[stage ${stage.name ?? i}] $ ${cmd}\n${r.out}\n`;
        if (r.code !== 0) throw new Error(`RUN ${cmd} exited with ${r.code}:\n${r.out}`);
      } else if (op === 'CMD') {
        img.cmd = JSON.parse(args) as string[];
      } else if (op === 'HEALTHCHECK') {
        const m = /CMD\s+(\[.*\])\s*$/.exec(args);
        img.healthcheck = m ? (JSON.parse(m[1]!) as string[]) : null;
      } else if (op === 'EXPOSE') {
        img.exposed.push(...args.split(/\s+/).map((p) => Number(p.split('/')[0])));
      } else if (op === 'USER') {
        img.user = args;
      } else if (op !== 'STOPSIGNAL' && op !== 'LABEL' && op !== 'ARG') {
        throw new Error(`this runner does not know ${op}: teach it, or keep the Dockerfile to what it knows`);
      }
    }
    return img;
  };
  let last: Promise<BuiltImage> | null = null;
  for (const [i, stage] of stages.entries()) {
    last = buildOne(stage, i);
    last.catch(() => undefined); // awaited below, or by a later COPY --from
    built.set(String(i), last);
    if (stage.name) built.set(stage.name, last);
  }
  if (!last) throw new Error('no FROM in the Dockerfile');
  await Promise.all(built.values());
  const image = await last;
  image.log = log;
  return image;
}

export const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
