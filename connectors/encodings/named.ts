import { avro } from './avro.ts'
import { ENCODING_NAMES, json, type Encoding, type EncodingName } from './encoding.ts'
import { msgpack } from './msgpack.ts'

/**
 * The encoding called `name`, as a binary log's header or the CLI's `--encoding` names it; Avro
 * needs its `schema` (JSON text). An unknown name, or Avro without a schema, is a TypeError.
 */
export function encodingNamed(name: string, schema?: string): Encoding {
  if (!(ENCODING_NAMES as readonly string[]).includes(name))
    throw new TypeError(`unknown encoding '${name}' (encodings: ${ENCODING_NAMES.join(', ')})`)
  switch (name as EncodingName) {
    case 'json':
      return json()
    case 'msgpack':
      return msgpack()
    case 'avro':
      if (schema === undefined) throw new TypeError('the avro encoding needs its schema')
      return avro(schema)
  }
}
