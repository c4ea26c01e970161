// The command line: a commander program made from the flag table, and its errors rewritten as
// `--flag: problem` on one line. Values stay text here; load.ts parses them with everything else.
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ConfigExit } from './errors.js';
import { ACTIONS, FLAGS } from './flags.js';
import { helpDescription } from './reference.js';
import { packageVersion } from './version.js';
const HELP_AFTER = [
    '',
    'Every option can also be set in the environment as REDISPROXY_<NAME> (upper case, dashes',
    'as underscores, e.g. REDISPROXY_ADMIN_PORT=9100), or in the --config file under its flag',
    'name (e.g. "admin-port: 9100"). Options given on the command line win over variables,',
    'which win over the file. Boolean variables accept 1/0, true/false, yes/no. An empty',
    'variable counts as unset.',
    '',
    'SIGHUP reads the file and environment again: the options marked [live] change without',
    'dropping clients; the rest needs a restart.',
    '',
    'Note: --coherence ttl is weaker than tracking: a write made directly on Redis (not through',
    'this proxy) is seen only after the ttl expires.',
].join('\n');
function buildProgram(out) {
    const program = new Command('redisproxy')
        .description('A transparent Redis proxy that caches GET replies.')
        .usage('[options]')
        .helpOption(ACTIONS.help.flags, ACTIONS.help.text)
        .allowExcessArguments(false)
        .exitOverride()
        .configureOutput({
        writeOut: (s) => {
            out.text += s;
        },
        writeErr: () => { }, // errors are rethrown as ConfigError
    })
        .configureHelp({ helpWidth: 100 });
    for (const f of FLAGS) {
        program.addOption(new Option(f.arg ? `--${f.name} ${f.arg}` : `--${f.name}`, helpDescription(f)));
        if (!f.arg)
            program.addOption(new Option(`--no-${f.name}`).hideHelp());
    }
    program.addOption(new Option(ACTIONS.printConfig.flags, ACTIONS.printConfig.text));
    program.version(packageVersion(), ACTIONS.version.flags, ACTIONS.version.text);
    program.addHelpText('after', HELP_AFTER);
    return program;
}
function optionKey(name) {
    return name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}
/** Commander's messages rewritten as `--flag: problem`, one line. */
function commanderProblem(err, argv) {
    const firstLine = err.message.split('\n')[0].replace(/^error:\s*/, '');
    const quotedFlag = /'([^']+)'/.exec(firstLine)?.[1];
    switch (err.code) {
        case 'commander.unknownOption': {
            const raw = quotedFlag ?? firstLine;
            const eq = raw.indexOf('=');
            if (raw.startsWith('--') && eq > 0) {
                const name = raw.slice(2, eq);
                const spec = FLAGS.find((f) => f.name === name && !f.arg);
                if (spec)
                    return `--${name}: takes no value (write --${name} or --no-${name})`;
            }
            const hint = /\(Did you mean (.+)\?\)/.exec(err.message)?.[1];
            return `${raw}: unknown option${hint ? ` (did you mean ${hint}?)` : ''}`;
        }
        case 'commander.optionMissingArgument': {
            const name = quotedFlag?.split(/\s+/)[0] ?? 'option';
            return `${name}: missing value`;
        }
        case 'commander.excessArguments': {
            const stray = argv.find((a) => !a.startsWith('-')) ?? '';
            return `unexpected argument ${JSON.stringify(stray)} (options are written --name value or --name=value)`;
        }
        default:
            return firstLine;
    }
}
/**
 * Reads the command line. Throws ConfigExit for --help and --version (whatever else is written),
 * ConfigError for an unknown option, a missing value or a stray argument.
 */
export function parseCommandLine(argv) {
    const out = { text: '' };
    const program = buildProgram(out);
    try {
        program.parse(argv, { from: 'user' });
    }
    catch (e) {
        if (e instanceof CommanderError) {
            if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')
                throw new ConfigExit('help', out.text);
            if (e.code === 'commander.version')
                throw new ConfigExit('version', out.text);
            throw new ConfigError(commanderProblem(e, argv));
        }
        throw e;
    }
    const opts = program.opts();
    return {
        valueOf(f) {
            const key = optionKey(f.name);
            const v = program.getOptionValueSource(key) === 'cli' ? opts[key] : undefined;
            return typeof v === 'boolean' ? String(v) : v;
        },
        printConfig: opts.printConfig === true,
    };
}
//# sourceMappingURL=command-line.js.map