// Opens the embedded database. One file per role under DataDir, or ':memory:' for the
// in-memory mode; both run the same SQL, so the in-memory mode tests the real store.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

export type Db = Database.Database

export function openDatabase(file: string | ':memory:'): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file)
  // WAL + NORMAL: each commit survives a process kill (kill -9); only an OS crash can
  // lose the last transactions, which is the trade Bacalhau's BoltDB store also makes.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  return db
}
