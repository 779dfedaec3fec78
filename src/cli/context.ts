// What every command needs: the global flags, the loaded config, an API client, and
// the output streams.
import type { Command } from 'commander'
import { ApiClient, apiBaseUrl } from '../api/client.js'
import { loadConfig, type ConfigFlagValues, type LoadedConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import { CliError } from './errors.js'

export interface GlobalOptions {
  apiHost?: string
  apiPort?: number
  dataDir?: string
  config?: string[]
  logLevel?: string
}

export class CliContext {
  readonly globals: GlobalOptions
  private loadedConfig?: LoadedConfig
  private extraFlags: ConfigFlagValues

  constructor(cmd: Command, extraFlags: ConfigFlagValues = {}) {
    this.globals = cmd.optsWithGlobals() as GlobalOptions
    this.extraFlags = extraFlags
  }

  get loaded(): LoadedConfig {
    if (!this.loadedConfig) {
      try {
        this.loadedConfig = loadConfig({
          configFlags: this.globals.config,
          flags: {
            dataDir: this.globals.dataDir,
            apiHost: this.globals.apiHost,
            apiPort: this.globals.apiPort,
            logLevel: this.globals.logLevel,
            ...this.extraFlags,
          },
        })
      } catch (e) {
        throw new CliError((e as Error).message)
      }
      for (const w of this.loadedConfig.warnings) this.warn(w)
    }
    return this.loadedConfig
  }

  get config(): Config {
    return this.loaded.config
  }

  get baseUrl(): string {
    try {
      return apiBaseUrl(this.config.API.Host, this.config.API.Port)
    } catch (e) {
      throw new CliError((e as Error).message)
    }
  }

  client(timeoutMs?: number): ApiClient {
    try {
      return new ApiClient({ baseUrl: this.baseUrl, timeoutMs })
    } catch (e) {
      throw new CliError((e as Error).message)
    }
  }

  get stdoutIsTTY(): boolean {
    return process.stdout.isTTY === true
  }
  get stderrIsTTY(): boolean {
    return process.stderr.isTTY === true
  }

  out(text: string): void {
    process.stdout.write(text)
  }
  err(text: string): void {
    process.stderr.write(text)
  }
  warn(text: string): void {
    process.stderr.write(`Warning: ${text}\n`)
  }
}
