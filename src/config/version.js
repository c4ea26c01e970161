// The proxy's version, for --version and the admin listener.
import { readFileSync } from 'node:fs';
let cachedVersion;
/** The version in package.json (two directories above src/config/ and dist/config/). */
export function packageVersion() {
    if (cachedVersion === undefined) {
        try {
            const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
            cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
        }
        catch {
            cachedVersion = '0.0.0';
        }
    }
    return cachedVersion;
}
//# sourceMappingURL=version.js.map