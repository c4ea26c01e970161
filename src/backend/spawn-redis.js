import net from 'node:net';
import { spawn } from 'node:child_process';
// For the quick start: when nothing answers at --addr, run a private redis-server
// there for the proxy's lifetime. Only for loopback addresses.
function answers(addr) {
    return new Promise((resolve) => {
        const s = net.connect({ host: addr.host, port: addr.port });
        s.setTimeout(1000);
        s.once('connect', () => {
            s.destroy();
            resolve(true);
        });
        s.once('error', () => resolve(false));
        s.once('timeout', () => {
            s.destroy();
            resolve(false);
        });
    });
}
export async function spawnRedisIfMissing(addr, log) {
    if (await answers(addr))
        return null;
    const host = addr.host === 'localhost' ? '127.0.0.1' : addr.host;
    if (!['127.0.0.1', '::1'].includes(host)) {
        throw new Error(`--spawn-redis: nothing answers at ${addr.display}, and a private Redis is only started on loopback`);
    }
    const args = ['--port', String(addr.port), '--bind', host, '--save', '', '--appendonly', 'no'];
    if (addr.password !== null && addr.username === null)
        args.push('--requirepass', addr.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    await new Promise((resolve, reject) => {
        child.once('error', (err) => reject(new Error(`--spawn-redis: cannot run redis-server (${err.message}); install it (apt-get install redis-server)`)));
        child.once('spawn', () => resolve());
    });
    const killChild = () => child.kill('SIGTERM');
    process.once('exit', killChild);
    for (let i = 0; i < 50; i++) {
        if (await answers(addr)) {
            log.info({ redis: addr.display, redisPid: child.pid }, 'started a private redis-server (--spawn-redis)');
            return child;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    killChild();
    throw new Error(`--spawn-redis: redis-server did not start at ${addr.display}`);
}
//# sourceMappingURL=spawn-redis.js.map