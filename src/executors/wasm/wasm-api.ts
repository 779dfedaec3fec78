// Typed access to the global WebAssembly object. This project's TS libs (ES2023, no
// DOM) and @types/node 20 do not declare it; a local facade avoids adding global
// declarations that would clash once a lib starts providing them.

/** An opaque compiled module (a real WebAssembly.Module at runtime). */
export interface WasmModule {
  readonly __wasmModule?: never
}

export type WasmExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag'

export interface WasmImportDescriptor {
  module: string
  name: string
  kind: WasmExternKind
}

export interface WasmExportDescriptor {
  name: string
  kind: WasmExternKind
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(deltaPages: number): number
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>
}

export type WasmImports = Record<string, Record<string, unknown>>

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule
    imports(module: WasmModule): WasmImportDescriptor[]
    exports(module: WasmModule): WasmExportDescriptor[]
  }
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory
  RuntimeError: new (message?: string) => Error
  CompileError: new (message?: string) => Error
  LinkError: new (message?: string) => Error
  compile(bytes: Uint8Array): Promise<WasmModule>
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
