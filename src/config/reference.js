// A flag's one text, told two ways: a line of --help (plain text) and a row of the reference table
// in docs/configuration.md (markdown, written by scripts/flag-table.mjs).
import { ACTIONS, FLAGS, NOT_IN_FILE, envName } from './flags.js';
/** Markdown-lite to plain text: --help has no use for backticks. */
export function plainText(markdown) {
    return markdown.replace(/`([^`]*)`/g, '$1');
}
function defaultShown(f) {
    return f.defaultLabel ?? (f.default === '' ? 'none' : f.default);
}
/** The description --help prints after `--name <arg>`. */
export function helpDescription(f) {
    const value = f.arg ? ` Value: ${f.value.expects}.` : '';
    const live = f.live ? ' [live]' : '';
    return `${plainText(f.text)}${value} [default: ${defaultShown(f)}] [env: ${envName(f.name)}]${live}`;
}
/** Text for a table cell: "|" would end the cell, and `<word>` outside code would be taken for HTML. */
function cell(markdown) {
    const parts = markdown.split('`');
    // even parts are outside backticks
    return parts
        .map((p, i) => (i % 2 === 0 ? p.replace(/</g, '&lt;').replace(/>/g, '&gt;') : p))
        .join('`')
        .replace(/\|/g, '\\|');
}
/** The reference table, one row per flag, then the three flags that only act and exit. */
export function referenceTable() {
    const rows = [
        '| Flag | Environment variable | Config file key | Default | On SIGHUP | Value | Meaning |',
        '|---|---|---|---|---|---|---|',
    ];
    for (const f of FLAGS) {
        const flag = f.arg ? `\`--${f.name} ${f.arg}\`` : `\`--${f.name}\``;
        const key = NOT_IN_FILE.has(f.name) ? '' : `\`${f.name}\``;
        const def = defaultShown(f);
        const defaultCell = f.defaultLabel !== undefined && !/^\d/.test(def) ? def : `\`${def}\``;
        const reload = f.live ? `live${f.liveNote ? ` (${f.liveNote})` : ''}` : 'restart';
        rows.push(`| ${flag} | \`${envName(f.name)}\` | ${key} | ${defaultCell} | ${reload} | ${cell(f.value.expects)} | ${cell(f.text)} |`);
    }
    for (const a of [ACTIONS.printConfig, ACTIONS.help, ACTIONS.version]) {
        const flags = a.flags.split(', ').map((n) => `\`${n}\``).join(', ');
        rows.push(`| ${flags} | | | | | | ${cell(a.text)} |`);
    }
    return `${rows.join('\n')}\n`;
}
//# sourceMappingURL=reference.js.map