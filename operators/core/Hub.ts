import { Observable, type Observer, type Subscriber } from 'rxjs'

/**
 * Multicasts one input to the branches of a pipeline graph. Unlike a `Subject` it does not copy its
 * observer list per value (`Subject.next` did, and cost a quarter of a whole pipeline): the list is
 * replaced when a branch comes or goes, which happens while the graph is built or torn down, not
 * per value.
 */
export class Hub<T> extends Observable<T> implements Observer<T> {
  // Replaced, never changed in place: a branch that leaves while a value is being handed out (it
  // unsubscribes from its own `next`) must not shift the others under the loop, skipping one.
  private branches: readonly Subscriber<T>[] = []

  constructor() {
    super((subscriber) => {
      this.branches = [...this.branches, subscriber]
      return () => {
        this.branches = this.branches.filter((b) => b !== subscriber)
      }
    })
  }

  next(value: T): void {
    const bs = this.branches
    if (bs.length === 1) return bs[0].next(value)
    for (let i = 0; i < bs.length; i++) bs[i].next(value)
  }

  error(err: unknown): void {
    for (const b of this.branches) b.error(err)
  }

  complete(): void {
    for (const b of this.branches) b.complete()
  }
}
