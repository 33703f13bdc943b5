import type { Observable } from 'rxjs'
import type { Element } from './element.ts'
import type { OperatorNode } from './stream.ts'
import type { RunContext } from '../operators/core/context.ts'

/** Turns one stateful stage of the description into RxJS, given its compiled inputs. */
export type Interpreter = (
  node: OperatorNode,
  inputs: readonly Observable<Element<unknown>>[],
  ctx: RunContext,
) => Observable<Element<unknown>>

/**
 * The stateful stage kinds `compile` knows, by `OperatorNode.kind`. Each operator family registers
 * its interpreter here, so the description modules never import RxJS.
 */
export const interpreters: Record<string, Interpreter> = {}
