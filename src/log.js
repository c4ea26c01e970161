import pino from 'pino';
// Structured logs on stdout: one JSON object a line for machines, or, on a terminal,
// one readable line (`12:04:05 INFO  listening on ... redis=localhost:6379`). pino always
// produces JSON; LogOutput decides per line whether to pass it through or reformat it,
// so the format (like the level) can change on SIGHUP. Secrets never reach the logs
// (see redactedConfig).
export class LogOutput {
    out;
    text;
    constructor(format, out = process.stdout) {
        this.out = out;
        this.text = false;
        this.setFormat(format);
    }
    setFormat(format) {
        this.text = format === 'text' || (format === 'auto' && this.out.isTTY === true);
    }
    /** pino's destination interface: one JSON line per call */
    write(line) {
        this.out.write(this.text ? formatLine(line) : line);
    }
}
export function createLogger(level, format = 'auto', out) {
    const output = new LogOutput(format, out);
    const log = pino({
        level,
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
    }, output);
    return { log, output };
}
const SKIP = new Set(['time', 'level', 'msg', 'pid', 'hostname']);
/**
 * `HH:MM:SS LEVEL message key=value ...` from one pino JSON line (local time). Values
 * with spaces, quotes or `=` are JSON-quoted; nested objects are written as JSON; an
 * `err` shows its message. A line that is not JSON passes through unchanged.
 */
export function formatLine(line) {
    let rec;
    try {
        rec = JSON.parse(line);
    }
    catch {
        return line;
    }
    if (rec === null || typeof rec !== 'object')
        return line;
    const parts = [];
    const t = typeof rec.time === 'string' || typeof rec.time === 'number' ? new Date(rec.time) : new Date();
    const pad = (n) => String(n).padStart(2, '0');
    parts.push(`${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`);
    parts.push(String(rec.level ?? '').toUpperCase().padEnd(5));
    if (rec.msg !== undefined)
        parts.push(String(rec.msg));
    for (const [k, v] of Object.entries(rec)) {
        if (SKIP.has(k) || v === undefined)
            continue;
        parts.push(`${k}=${formatValue(k, v)}`);
    }
    return `${parts.join(' ')}\n`;
}
function formatValue(key, v) {
    if (key === 'err' && v !== null && typeof v === 'object' && 'message' in v)
        return quote(String(v.message));
    if (typeof v === 'string')
        return quote(v);
    if (v !== null && typeof v === 'object')
        return JSON.stringify(v);
    return String(v);
}
function quote(s) {
    return s !== '' && /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}
//# sourceMappingURL=log.js.map