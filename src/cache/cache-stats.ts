/** Counters of the GET cache, read by logs, the admin endpoint and tests. */
export class CacheStats {
  hits = 0;
  misses = 0;
  fills = 0;
  /** fills thrown away because an invalidation or write raced with them */
  fillsDiscarded = 0;
  evictions = 0;
  expirations = 0;
  /** entries dropped because their key was written or invalidated */
  invalidations = 0;
  /** whole-cache drops (FLUSHALL, link loss, keyless writes) */
  flushes = 0;
  /** entries dropped for their cluster slot (ReplyCache.invalidateSlots), by reason */
  slotDropsLinkLost = 0;
  slotDropsOwnerChanged = 0;
  slotDropsNodeFlush = 0;
  /** (a tracked connection to the node closed: what was read through it is reported no more) */
  slotDropsTrackingLost = 0;
  /** MGETs that used the cache (their keys count in hits and misses) */
  mgets = 0;
  /** ... of which every key was answered from the cache */
  mgetsFromCache = 0;

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
