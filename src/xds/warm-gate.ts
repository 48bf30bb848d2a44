// The gate that holds every xDS answer until the resources behind it are complete.
//
// A replica that answered before it had read its source would tell a client "this is everything"
// while it holds nothing: an Envoy doing wildcard CDS drops its clusters, istiod removes its
// ServiceEntries. So until the gate opens, streams accept requests and remember what they owe but
// build no response; opening the gate flushes every held stream at once with the full state.
// src/xds does not know what "complete" means: the composition root opens the gate.

export class WarmGate {
  private opened: boolean;
  private readonly listeners: Array<() => void> = [];

  /** `open` true: a gate that holds nothing (servers whose resources are complete from the start). */
  constructor(open = false) {
    this.opened = open;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Opens the gate (once; later calls do nothing) and tells every listener. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    for (const l of this.listeners.splice(0)) l();
  }

  /** Runs `listener` when the gate opens (never, if it is open already). */
  onOpen(listener: () => void): void {
    if (!this.opened) this.listeners.push(listener);
  }
}
