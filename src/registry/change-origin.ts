// When a registry change came to exist, on this process's performance.now() clock: the moment the
// latency figures (zkxds_change_to_*_seconds, zkxds_xds_push_latency_seconds) count from.
//
// ZooKeeper stamps every write with the znode's mtime, on the clock of the ZooKeeper server that
// handled it. That is the earliest honest origin: it includes the time the notification took to
// reach us and the time it waited to be read. The two clocks may disagree (skew): a change
// cannot have happened after we were told of it, so an mtime later than the watch event is
// replaced by the event's receipt; an mtime earlier than it by the skew is not detectable here, and
// a ZooKeeper clock behind ours inflates every figure by that much (keep the clocks in NTP sync).

/** Origin of a change seen through a watch fired at `watchFiredAt`, whose znode now has `mtimeMs`. */
export function changeOrigin(watchFiredAt: number, mtimeMs: number | undefined): number {
  if (mtimeMs === undefined) return watchFiredAt;
  return Math.min(mtimeMs - performance.timeOrigin, watchFiredAt);
}

/** From the write (mtime) to the watch event reaching this process, in ms (0 when skew says less). */
export function notificationDelayMs(watchFiredAt: number, mtimeMs: number): number {
  return Math.max(0, watchFiredAt - (mtimeMs - performance.timeOrigin));
}
