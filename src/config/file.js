// The optional --config file: YAML or JSON, one key per flag name (`ttl: 60`,
// `admin-port: 9100`). It only yields text values keyed by flag name; loadConfig runs
// them through the same parsers as flags and variables, so a value means the same
// thing wherever it is written.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
/** A one-line problem with the file; loadConfig turns it into a ConfigError. */
export class ConfigFileError extends Error {
}
/**
 * Reads and checks the shape of a config file. `names` are the keys it may hold;
 * `pathKeys` are the keys naming files, resolved against the config file's directory.
 * Throws ConfigFileError (one line, naming the file and the key) on anything wrong.
 */
export function readConfigFile(file, names, pathKeys) {
    const abs = path.resolve(file);
    let text;
    try {
        text = readFileSync(abs, 'utf8');
    }
    catch (e) {
        const err = e;
        throw new ConfigFileError(`${file}: cannot read the config file (${err.code ?? err.message})`);
    }
    const doc = parseText(file, text);
    const values = new Map();
    if (doc === null || doc === undefined)
        return { file: abs, values }; // an empty file sets nothing
    if (typeof doc !== 'object' || Array.isArray(doc)) {
        throw new ConfigFileError(`${file}: expected a map of settings (e.g. "ttl: 60"), not ${describe(doc)}`);
    }
    for (const [key, raw] of Object.entries(doc)) {
        if (!names.includes(key))
            throw new ConfigFileError(`${file}: ${key}: unknown key${suggest(key, names)}`);
        let value = toText(file, key, raw);
        if (pathKeys.has(key) && value !== '' && !path.isAbsolute(value))
            value = path.resolve(path.dirname(abs), value);
        values.set(key, value);
    }
    return { file: abs, values };
}
function parseText(file, text) {
    const ext = path.extname(file).toLowerCase();
    const json = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*\{/.test(text));
    try {
        return json ? JSON.parse(text) : parseYaml(text);
    }
    catch (e) {
        const first = e.message.split('\n')[0].replace(/:$/, '');
        throw new ConfigFileError(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${first}`);
    }
}
function toText(file, key, raw) {
    switch (typeof raw) {
        case 'string':
            return raw;
        case 'number':
            if (!Number.isFinite(raw))
                break;
            return String(raw);
        case 'boolean':
            return String(raw);
        default:
            if (raw === null)
                throw new ConfigFileError(`${file}: ${key}: missing value`);
    }
    throw new ConfigFileError(`${file}: ${key}: expected a single value (text, number or true/false), not ${describe(raw)}`);
}
function describe(v) {
    if (Array.isArray(v))
        return 'a list';
    if (v === null)
        return 'nothing';
    if (typeof v === 'object')
        return 'a map';
    return JSON.stringify(v) ?? String(v);
}
/** " (did you mean "ttl"?)" for a near miss or a camelCase/underscore spelling, else "". */
function suggest(key, names) {
    const normal = key.replace(/_/g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/^--?/, '');
    let best = '';
    let bestDistance = 3;
    for (const n of names) {
        const d = n === normal ? 0 : distance(key, n);
        if (d < bestDistance) {
            best = n;
            bestDistance = d;
        }
    }
    return best ? ` (did you mean "${best}"?)` : '';
}
function distance(a, b) {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diag = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const up = row[j];
            row[j] = Math.min(up + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = up;
        }
    }
    return row[b.length];
}
//# sourceMappingURL=file.js.map