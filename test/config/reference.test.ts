// --help and docs/configuration.md are both told from each flag's one text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { ConfigExit } from '../../src/config/errors.js';
import { ACTIONS, FLAGS, envName } from '../../src/config/flags.js';
import { loadConfig } from '../../src/config/load.js';
import { helpDescription, plainText, referenceTable } from '../../src/config/reference.js';

function help(): string {
  try {
    loadConfig(['--help'], {});
  } catch (e) {
    if (e instanceof ConfigExit) return e.output.replace(/\s+/g, ' ');
    throw e;
  }
  assert.fail('--help did not exit');
}

describe('one text per flag', () => {
  it('is plain enough for both: sentences, code in pairs of backticks, no table pipes', () => {
    for (const f of FLAGS) {
      assert.match(f.text, /^[`A-Z].*\.$/, `--${f.name}: a sentence`);
      assert.equal((f.text.match(/`/g) ?? []).length % 2, 0, `--${f.name}: backticks in pairs`);
      assert.ok(!f.text.includes('|'), `--${f.name}: no "|"`);
    }
  });

  it('--help shows each text without backticks, with its value phrase, default, variable and reload', () => {
    const text = help();
    for (const f of FLAGS) {
      assert.ok(text.includes(plainText(f.text)), `--help has the text of --${f.name}`);
      const d = helpDescription(f);
      assert.ok(!d.includes('`'), `--${f.name}: no backticks in help`);
      assert.ok(d.includes(`[env: ${envName(f.name)}]`));
      if (f.arg) assert.ok(d.includes(`Value: ${f.value.expects}.`), `--${f.name}: help says what the errors say`);
      assert.equal(d.endsWith('[live]'), f.live === true, `--${f.name}: [live] only when a reload applies it`);
    }
    assert.equal(plainText('`--no-spawn-redis` turns it off'), '--no-spawn-redis turns it off');
    for (const a of Object.values(ACTIONS)) assert.ok(text.includes(`${a.flags} ${a.text}`), `--help: ${a.flags} ${a.text}`);
  });

  it('the reference has one row per flag with its text, value and reload column', () => {
    const rows = referenceTable().trimEnd().split('\n');
    assert.equal(rows.length, 2 + FLAGS.length + 3);
    for (const [i, f] of FLAGS.entries()) {
      const cells = rows[2 + i]!.split(' | ');
      assert.ok(cells[0]!.startsWith(`| \`--${f.name}`), `row ${i} is --${f.name}`);
      assert.equal(cells[1], `\`${envName(f.name)}\``);
      assert.equal(cells[2], f.name === 'config' ? '' : `\`${f.name}\``, 'the file key, none for --config');
      assert.ok(cells[4]!.startsWith(f.live ? 'live' : 'restart'));
      assert.equal(cells[6], `${f.text} |`, 'the text as written');
    }
    assert.deepEqual(rows.slice(-3).map((r) => r.split(' | ')[0]), ['| `--print-config`', '| `-h`, `--help`', '| `-v`, `--version`']);
    // `<word>` outside code would vanish as an HTML tag; inside code it stays
    const limits = rows.find((r) => r.startsWith('| `--output-limit-normal <limits>`'))!;
    assert.ok(limits.includes('"&lt;hard&gt; &lt;soft&gt; &lt;seconds&gt;"'));
    assert.ok(rows.find((r) => r.startsWith('| `--http-get`'))!.includes('`GET /v1/keys/<key>`'));
  });

  it('docs/configuration.md holds the reference as generated now (run scripts/flag-table.mjs after a change)', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(referenceTable()), 'docs/configuration.md is out of date: npm run build && node scripts/flag-table.mjs');
  });
});
