// The shape of one validated configuration, shared by every station of the proxy.
// loadConfig (load.ts) builds it; nothing else does.
export {};
//# sourceMappingURL=config.js.map