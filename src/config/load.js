// One validated configuration for the whole process:
// flags > REDISPROXY_* env > the --config file > defaults.
import { isIP } from 'node:net';
import { parseCommandLine } from './command-line.js';
import { ConfigError, ConfigExit, Problem } from './errors.js';
import { ConfigFileError, readConfigFile } from './file.js';
import { FILE_KEYS, FLAGS, PATH_KEYS, envName } from './flags.js';
import { redactedConfig } from './redact.js';
/**
 * Builds the process configuration: flags beat REDISPROXY_* environment variables,
 * which beat the --config file, which beats defaults. Throws ConfigError (one-line
 * message naming the flag, variable or file and key) on any bad value, and ConfigExit
 * for --help, --version and --print-config.
 */
export function loadConfig(argv, env) {
    const commandLine = parseCommandLine(argv);
    /** flag value from the command line, else from the environment; undefined when neither */
    const given = (f) => {
        const fromCli = commandLine.valueOf(f);
        if (fromCli !== undefined)
            return { text: fromCli, where: `--${f.name}` };
        const variable = envName(f.name);
        const fromEnv = env[variable];
        if (fromEnv !== undefined && fromEnv !== '')
            return { text: fromEnv, where: variable };
        return undefined;
    };
    const configGiven = given(FLAGS.find((f) => f.key === 'configFile'));
    let file = null;
    if (configGiven !== undefined && configGiven.text !== '') {
        try {
            file = readConfigFile(configGiven.text, FILE_KEYS, PATH_KEYS);
        }
        catch (e) {
            if (e instanceof ConfigFileError)
                throw new ConfigError(e.message);
            throw e;
        }
    }
    const fileLabel = configGiven?.text ?? '';
    const result = {};
    for (const f of FLAGS) {
        let source = given(f);
        const fromFile = file?.values.get(f.name);
        if (source === undefined && fromFile !== undefined)
            source = { text: fromFile, where: `${fileLabel}: ${f.name}` };
        const { text, where } = source ?? { text: f.default, where: `default of --${f.name}` };
        try {
            result[f.key] = f.value.parse(text);
        }
        catch (e) {
            if (e instanceof Problem)
                throw new ConfigError(`${where}: ${e.message}`);
            throw e;
        }
    }
    const seeds = result.seeds;
    // addr first: it is what a single-address proxy reads, and how --print-config has always begun
    const config = { addr: seeds[0], ...result };
    checkTogether(config);
    if (commandLine.printConfig) {
        throw new ConfigExit('print-config', `${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    }
    return config;
}
/** Settings that are fine alone but not together. */
function checkTogether(config) {
    if ((config.tlsCert === null) !== (config.tlsKey === null)) {
        throw new ConfigError(`--tls-cert and --tls-key: give both or neither`);
    }
    if (config.tlsCa !== null && config.tlsCert === null)
        throw new ConfigError('--tls-ca: needs --tls-cert and --tls-key');
    if ((config.redisCert === null) !== (config.redisKey === null)) {
        throw new ConfigError(`--redis-cert and --redis-key: give both or neither`);
    }
    checkSentinel(config);
    // (a host name may resolve to the other's address: only two different addresses surely differ)
    const mayBeAny = (a) => a === '0.0.0.0' || a === '::' || isIP(a) === 0;
    if (config.adminPort === config.port && (config.adminBind === config.bind || mayBeAny(config.adminBind) || mayBeAny(config.bind))) {
        throw new ConfigError(`--admin-port: ${config.port} is already the proxy's own --port`);
    }
}
/** --sentinel and its companions: each needs the others it cannot work without. */
function checkSentinel(config) {
    const on = config.sentinels.length > 0;
    if (!on) {
        const stray = [
            ['sentinel-master', config.sentinelMaster !== null],
            ['sentinel-username', config.sentinelUsername !== null],
            ['sentinel-password', config.sentinelPassword !== null],
            ['sentinel-tls', config.sentinelTls],
            ['sentinel-ca', config.sentinelCa !== null],
            ['sentinel-cert', config.sentinelCert !== null],
            ['sentinel-key', config.sentinelKey !== null],
        ].find(([, given]) => given);
        if (stray)
            throw new ConfigError(`--${stray[0]}: needs --sentinel`);
        return;
    }
    if (config.sentinelMaster === null)
        throw new ConfigError('--sentinel: needs --sentinel-master <name>');
    if (config.seeds.length > 1)
        throw new ConfigError('--addr: with --sentinel it gives only the data nodes\' credentials, database and TLS: name one address, not several');
    if (config.spawnRedis)
        throw new ConfigError('--spawn-redis: cannot be used with --sentinel (the sentinels say where Redis is)');
    if ((config.sentinelCert === null) !== (config.sentinelKey === null))
        throw new ConfigError('--sentinel-cert and --sentinel-key: give both or neither');
    if (!config.sentinelTls && (config.sentinelCa !== null || config.sentinelCert !== null)) {
        throw new ConfigError(`--${config.sentinelCa !== null ? 'sentinel-ca' : 'sentinel-cert'}: needs --sentinel-tls`);
    }
}
//# sourceMappingURL=load.js.map