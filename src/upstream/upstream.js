export {};
//# sourceMappingURL=upstream.js.map