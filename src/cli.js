#!/usr/bin/env node
// Process entry: parse the configuration, then hand over to the proxy.
// Exit status: 0 after --help/--version/--print-config, 2 on a configuration error,
// 1 when the proxy fails to start.
import { ConfigError, ConfigExit } from './config/errors.js';
import { loadConfig } from './config/load.js';
/** One line for stderr, whatever was thrown (AggregateError from a dual-stack connect has no message). */
function oneLineMessage(err) {
    let text;
    if (err instanceof AggregateError && err.message === '' && err.errors.length > 0) {
        text = err.errors.map((e) => oneLineMessage(e)).join('; ');
    }
    else if (err instanceof Error) {
        const code = err.code;
        text = err.message !== '' ? err.message : typeof code === 'string' ? code : err.name;
    }
    else {
        text = String(err);
    }
    return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
async function main() {
    const argv = process.argv.slice(2);
    let config;
    try {
        config = loadConfig(argv, process.env);
    }
    catch (err) {
        if (err instanceof ConfigExit) {
            process.stdout.write(err.output);
            process.exitCode = 0;
            return;
        }
        if (err instanceof ConfigError) {
            process.stderr.write(`redisproxy: ${oneLineMessage(err)}\n`);
            process.exitCode = 2;
            return;
        }
        throw err;
    }
    try {
        // Loaded only now so that --help and configuration errors never pay for (or trip on) the proxy.
        const { startProxy } = await import('./proxy.js');
        // SIGHUP builds the configuration the same way again: same flags, the file and env as they are now
        await startProxy(config, { loadConfig: () => loadConfig(argv, process.env) });
    }
    catch (err) {
        process.stderr.write(`redisproxy: ${oneLineMessage(err)}\n`);
        process.exit(1);
    }
}
main().catch((err) => {
    process.stderr.write(`redisproxy: ${oneLineMessage(err)}\n`);
    process.exit(1);
});
//# sourceMappingURL=cli.js.map