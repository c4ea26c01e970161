// What loading the configuration throws, besides a Config.
/** A bad setting: one line naming the flag, variable or file and key. The CLI exits 2 with it. */
export class ConfigError extends Error {
}
/**
 * Thrown by loadConfig for --help, --version and --print-config: not an error, the caller prints
 * `output` to stdout and exits 0.
 */
export class ConfigExit extends Error {
    kind;
    output;
    constructor(kind, output) {
        super(`${kind} requested`);
        this.kind = kind;
        this.output = output;
        this.name = 'ConfigExit';
    }
}
/** A problem with one value; whoever knows where the value came from prefixes the flag or variable name. */
export class Problem extends Error {
}
//# sourceMappingURL=errors.js.map