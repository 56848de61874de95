/**
 * What the file writers in this folder share: at most one write in flight while the caller
 * prepares the next, and a failed write remembered and thrown at the next call. Subclasses say
 * how many bytes wait and how to start writing them.
 */
export abstract class OverlappedWriter {
  private inFlight: Promise<void> | undefined;
  private failure: { readonly error: unknown } | undefined;

  /** Bytes accepted but not yet handed to a write. */
  protected abstract waitingBytes(): number;
  /** Takes the waiting bytes and writes them; called with no other write in flight. */
  protected abstract writeWaiting(): Promise<void>;

  /** Writes every waiting byte; throws the first write error. */
  async flush(): Promise<void> {
    if (this.waitingBytes() > 0) await this.rotate();
    await this.settle();
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Waits for the write in flight, if any; never throws. */
  async settle(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
  }

  /** Waits for the previous write, throws its error if it failed, then starts the next. */
  protected async rotate(): Promise<void> {
    await this.settle();
    if (this.failure !== undefined) throw this.failure.error;
    this.inFlight = this.writeWaiting().catch((error: unknown) => {
      this.failure = { error };
    });
  }
}
