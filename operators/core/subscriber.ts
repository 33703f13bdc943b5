import { Subscriber } from 'rxjs'

export interface StageHandlers<T> {
  next(value: T): void
  /**
   * `next` catches its own errors and sends them downstream: it then becomes the subscriber's own
   * `_next` (as RxJS's OperatorSubscriber does), one call less per value. For generated handlers,
   * whose targets differ per pipeline, that removes a call site that sees them all.
   */
  readonly guarded?: boolean
  complete?(): void
  error?(err: unknown): void
}

/**
 * The one subscriber every weir operator uses on its input (RxJS's own `OperatorSubscriber` idea):
 * a `Subscriber` subclass, so RxJS calls it directly without its SafeSubscriber/observer wrappers,
 * and a throw in a handler goes to the downstream error channel instead of RxJS's unhandled-error
 * hook. Completion and errors pass through unless handled.
 */
class StageSubscriber<T> extends Subscriber<T> {
  constructor(
    private readonly downstream: Subscriber<unknown>,
    private readonly handlers: StageHandlers<T>,
  ) {
    super(downstream)
    if (handlers.guarded === true) this._next = handlers.next
  }

  protected override _next(value: T): void {
    try {
      this.handlers.next(value)
    } catch (err) {
      this.downstream.error(err)
    }
  }

  protected override _complete(): void {
    try {
      if (this.handlers.complete) this.handlers.complete()
      else this.downstream.complete()
    } catch (err) {
      this.downstream.error(err)
    } finally {
      this.unsubscribe()
    }
  }

  protected override _error(err: unknown): void {
    try {
      if (this.handlers.error) this.handlers.error(err)
      else this.downstream.error(err)
    } finally {
      this.unsubscribe()
    }
  }
}

/** Subscribes an operator's handlers to its input on behalf of `downstream`. */
export const stageSubscriber = <T>(downstream: Subscriber<unknown>, handlers: StageHandlers<T>): Subscriber<T> =>
  new StageSubscriber(downstream, handlers)
