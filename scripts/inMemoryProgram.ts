/**
 * Type-checks source text that is not on disk (README blocks, TSDoc examples, snippets that must
 * not compile) as if each were a file at its path, beside the real files it imports, and returns
 * the diagnostics of those files only. For the tests that hold documentation and type errors to
 * the compiler: tsx runs code without checking its types.
 */
import { join } from 'node:path'
import ts from 'typescript'

/** The project's compiler options (tsconfig.json at `root`), for checking without emitting. */
export function projectOptions(root: string): ts.CompilerOptions {
  const cfg = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile)
  return { ...ts.parseJsonConfigFileContent(cfg.config, ts.sys, root).options, noEmit: true, noUnusedLocals: false }
}

/** The diagnostics of `files` (path -> text), compiled with `options` among the files on disk. */
export function diagnosticsOf(files: ReadonlyMap<string, string>, options: ts.CompilerOptions): ts.Diagnostic[] {
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.getSourceFile = (f, lang, ...rest) => {
    const text = files.get(f)
    return text !== undefined ? ts.createSourceFile(f, text, lang) : getSourceFile.call(host, f, lang, ...rest)
  }
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f)
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f)
  const program = ts.createProgram([...files.keys()], options, host)
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && files.has(d.file.fileName))
}
