import { Observable, type Observer, type Subscriber } from 'rxjs'

/**
 * Multicasts one input to the branches of a pipeline graph. Unlike a `Subject` it does not copy its
 * observer list per value (`Subject.next` did, and cost a quarter of a whole pipeline), because
 * branches subscribe while the graph is built and never during a run.
 */
export class Hub<T> extends Observable<T> implements Observer<T> {
  private readonly branches: Subscriber<T>[] = []

  constructor() {
    super((subscriber) => {
      this.branches.push(subscriber)
      return () => {
        const i = this.branches.indexOf(subscriber)
        if (i >= 0) this.branches.splice(i, 1)
      }
    })
  }

  next(value: T): void {
    const bs = this.branches
    if (bs.length === 1) return bs[0].next(value)
    for (let i = 0; i < bs.length; i++) bs[i].next(value)
  }

  error(err: unknown): void {
    for (const b of this.branches.slice()) b.error(err)
  }

  complete(): void {
    for (const b of this.branches.slice()) b.complete()
  }
}
