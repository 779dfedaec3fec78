#!/usr/bin/env node
// Entry point of the `bacalhau` CLI.
import '../polyfills.js'
import { runCli } from './program.js'

// A reader that closes the pipe early (`bacalhau job list | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
})

const code = await runCli(process.argv.slice(2))
// Exit explicitly (keep-alive sockets could hold the loop open) once output is flushed.
let pending = 2
const done = () => {
  if (--pending === 0) process.exit(code)
}
process.stdout.write('', done)
process.stderr.write('', done)
