// Shared integration-test harness. Import from 'test/helpers/index.js'.
export { getFreePort, withTimeout, sleep, bytes, escapeBytes, firstDifference, describeDifference, TimeoutError } from './util.js';
export { frameEnd, splitFrames, cmd, RespFrameError } from './resp.js';
export { RawClient, ReadError } from './raw-client.js';
export { startRedis, redisCli, pingLine, REDIS_SERVER, REDIS_CLI, type RedisServer } from './redis.js';
export { startProxy, REPO_ROOT, CLI_PATH, type ProxyProcess, type StartProxyOptions } from './proxy.js';
export { conversation, type Step, type StepObject, type Expect, type ConversationOptions } from './conversation.js';
export { killAllChildren } from './children.js';
