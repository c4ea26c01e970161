// Shared integration-test harness: real redis-server and proxy processes (never mocks), a raw
// RESP client, and byte-level conversations. Import from '../helpers/index.js'.
//
//   const redis = await startRedis({ args: ['--maxmemory', '10mb'] });   // free port, waits for PING
//   const proxy = await startProxy({ redisPort: redis.port, args: ['--ttl', '1'] });
//   after(async () => { await proxy.stop(); await redis.stop(); });
//   const c = await RawClient.connect(proxy.port);
//   c.write(cmd('SET', 'k', 'v') + 'GET k\r\n');                   // byte strings: 1 char = 1 byte
//   const [ok, v] = await c.readFrames(2);                            // whole RESP2/RESP3 frames
//   const bytes = await conversation(proxy.port, [['PING\r\n', 1], { conn: 'b', send: 'QUIT\r\n', expect: 'close' }]);
//
// Every spawned process is killed when the test process exits, even after a crash, and none
// keeps the test process alive on its own.
export { getFreePort, withTimeout, sleep, bytes, escapeBytes, firstDifference, describeDifference, TimeoutError } from './util.js';
export { frameEnd, splitFrames, cmd, RespFrameError } from './resp.js';
export { RawClient, ReadError, firstReplies } from './raw-client.js';
export { startRedis, redisCli, pingLine, REDIS_SERVER, REDIS_CLI, type RedisServer } from './redis.js';
export { startProxy, REPO_ROOT, CLI_PATH, type ProxyProcess, type StartProxyOptions } from './proxy.js';
export { conversation, type Step, type StepObject, type Expect, type ConversationOptions } from './conversation.js';
export { killAllChildren } from './children.js';
export { startSentinelSet, startLoneSentinel, type SentinelSet, type SentinelSetOptions, type SentinelProcess, type SentinelTlsFiles } from './sentinel.js';
export { startCluster, parseClusterNodes, NodeReplyError, type RedisCluster, type ClusterNodeView, type NodeReply, type SlotMove, type StartClusterOptions } from './cluster.js';
export { eventually, type EventuallyOptions } from './eventually.js';
export { proxyStats, type ProxyStats } from './stats.js';
export { startAdminProxy, linkUp, type AdminProxy, type AdminProxyOptions } from './admin-proxy.js';
export { startClusterProxy, stopClusterProxy, everyLinkTracking, type ClusterProxy } from './cluster-proxy.js';
