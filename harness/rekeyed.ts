import type { Pipeline } from '../dsl/pipeline.ts'
import type { Key, Node } from '../dsl/stream.ts'
import { partitionOf } from '../connectors/partition.ts'

/** A pipeline refused for running per partition: a stateful stage is keyed off the routing key. */
export class RekeyedError extends Error {
  override readonly name = 'RekeyedError'
}

/**
 * The pipeline run as partition `part` of `n`: the same plan, with every `keyBy` checking that the
 * key it gives belongs to this partition (`partitionOf(key, n) === part`). Per-partition state is
 * whole only when each stateful stage is keyed by the topic's routing key: a stage keyed by
 * something else would see one key in several partitions, at several members, and split its state
 * silently. A key of another partition is reported once through `refuse` (one line naming the
 * partitions); the key itself is still returned, and the runner stops the run (a throw here would
 * become a dead letter, as for any user function, and the run would go on wrong).
 *
 * @example
 * keyedOffPartition(counts, 1, 4, (why) => { throw new Error(why) })
 */
export function keyedOffPartition<I, O, K>(p: Pipeline<I, O, K>, part: number, n: number, refuse: (why: string) => void): Pipeline<I, O, K> {
  const done = new Map<Node, Node>()
  const rewrite = (node: Node): Node => {
    const seen = done.get(node)
    if (seen !== undefined) return seen
    let out: Node
    switch (node._tag) {
      case 'Source':
        out = node
        break
      case 'Merge':
        out = { ...node, inputs: node.inputs.map(rewrite) }
        break
      case 'Operator':
        out = { ...node, inputs: node.inputs.map(rewrite) }
        break
      case 'KeyBy': {
        const f = node.f
        let reported = false
        out = {
          ...node,
          input: rewrite(node.input),
          f: (a: unknown): Key => {
            const k = f(a)
            if (!reported && partitionOf(k, n) !== part) {
              reported = true
              refuse(
                `a stateful stage is keyed by something other than the topic's routing key: key ${JSON.stringify(k)} belongs to partition ${partitionOf(k, n)} of ${n}, but came in partition ${part}; keyBy the field the topic is partitioned by (its producer's routing key), or run one member over a topic of one partition`,
              )
            }
            return k
          },
        }
        break
      }
      default:
        out = { ...node, input: rewrite(node.input) }
    }
    done.set(node, out)
    return out
  }
  return { ...p, output: { ...p.output, node: rewrite(p.output.node) } }
}
