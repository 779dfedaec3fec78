// Rows keep int64 nanosecond times in INTEGER columns (read back as bigint) and the
// rest of the object as JSON text, so parsing stays on the fast JSON.parse path.

export interface TimedRow {
  data: string
  create_time: bigint
  modify_time: bigint
}

export function encodeTimed<T extends { CreateTime: bigint; ModifyTime: bigint }>(obj: T): TimedRow {
  const { CreateTime, ModifyTime, ...rest } = obj
  return { data: JSON.stringify(rest), create_time: CreateTime, modify_time: ModifyTime }
}

export function decodeTimed<T>(row: TimedRow): T {
  const obj = JSON.parse(row.data)
  obj.CreateTime = BigInt(row.create_time)
  obj.ModifyTime = BigInt(row.modify_time)
  return obj as T
}
