import { resolve } from 'node:path'
import { errorMessage } from '../dsl/sides.ts'
import { avro, readAvroSchema } from '../connectors/encodings/avro.ts'
import { ENCODING_NAMES, type Encoding, type EncodingName } from '../connectors/encodings/encoding.ts'
import { encodingNamed } from '../connectors/encodings/named.ts'
import { MissingPeerError } from '../connectors/encodings/peer.ts'
import { UsageError } from './args.ts'

/** `--encoding` and `--schema` as given: checked together, not yet loaded. */
export interface EncodingFlags {
  readonly encoding: EncodingName
  /** The Avro schema file, with `--encoding avro`. */
  readonly schema?: string
}

/**
 * Checks `--encoding <name>` and `--schema <file>`: a known encoding, a schema for Avro and for
 * nothing else. Undefined when neither was given (and none is `required`).
 */
export function encodingFlags(encoding: string | undefined, schema: string | undefined, required = false): EncodingFlags | undefined {
  if (encoding === undefined && !required) {
    if (schema !== undefined) throw new UsageError('--schema needs --encoding avro')
    return undefined
  }
  if (encoding === undefined || !(ENCODING_NAMES as readonly string[]).includes(encoding))
    throw new UsageError(`--encoding must be ${ENCODING_NAMES.join('|')}${encoding === undefined ? '' : `, got '${encoding}'`}`)
  if (encoding === 'avro' && schema === undefined) throw new UsageError('--encoding avro needs --schema <file.avsc> (the Avro schema of the events)')
  if (encoding !== 'avro' && schema !== undefined) throw new UsageError(`--schema is for --encoding avro (${encoding} has no schema)`)
  return { encoding: encoding as EncodingName, ...(schema === undefined ? {} : { schema }) }
}

/** Loads the encoding the flags name; a schema file that cannot be read, or a missing peer package, is a usage mistake. */
export function loadEncoding(flags: EncodingFlags, cwd: string): Encoding {
  try {
    if (flags.encoding === 'avro') return avro(readAvroSchema(resolve(cwd, flags.schema!)))
    return encodingNamed(flags.encoding)
  } catch (e) {
    if (e instanceof MissingPeerError || e instanceof TypeError) throw new UsageError(`--encoding ${flags.encoding}: ${errorMessage(e)}`)
    throw e
  }
}
