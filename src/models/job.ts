// Job, Task and their parts: one zod schema each, giving both the wire type and its
// decoding rules (reference: bacalhau-api.md §2.1–2.10).
import { z } from 'zod'
import { ciObject, nullish, stringMap } from './ci.js'
import { jobStateNames, NetworkType, type JobStateType } from './enums.js'
import { toNanos } from './json.js'

const int = z.number().int()

export const SpecConfigSchema = ciObject({
  Type: z.string().default(''),
  Params: nullish(z.record(z.string(), z.unknown())),
})
export type SpecConfig = z.infer<typeof SpecConfigSchema>

export const InputSourceSchema = ciObject({
  Source: nullish(SpecConfigSchema),
  Alias: z.string().default(''),
  Target: z.string().default(''),
})
export type InputSource = z.infer<typeof InputSourceSchema>

export const ResultPathSchema = ciObject({
  Name: z.string().default(''),
  Path: z.string().default(''),
})
export type ResultPath = z.infer<typeof ResultPathSchema>

export const ResourcesConfigSchema = ciObject({
  CPU: nullish(z.string()),
  Memory: nullish(z.string()),
  Disk: nullish(z.string()),
  GPU: nullish(z.string()),
})
export type ResourcesConfig = z.infer<typeof ResourcesConfigSchema>

export const TimeoutConfigSchema = ciObject({
  ExecutionTimeout: nullish(int),
  QueueTimeout: nullish(int),
  TotalTimeout: nullish(int),
})
export type TimeoutConfig = z.infer<typeof TimeoutConfigSchema>

const networkByLower = new Map(Object.values(NetworkType).map((n) => [n.toLowerCase(), n]))
export const NetworkTypeSchema = z.string().transform((v, ctx) => {
  const n = networkByLower.get(v.trim().toLowerCase())
  if (!n) {
    ctx.addIssue({ code: 'custom', message: `models.Network: unknown type '${v}'` })
    return z.NEVER
  }
  return n
})

export const PortSchema = ciObject({
  Name: z.string().default(''),
  Static: nullish(int),
  Target: nullish(int),
  HostNetwork: nullish(z.string()),
})

export const NetworkConfigSchema = ciObject({
  Type: NetworkTypeSchema.default('Default'),
  Domains: nullish(z.array(z.string())),
  Ports: nullish(z.array(PortSchema)),
})
export type NetworkConfig = z.infer<typeof NetworkConfigSchema>

export const LabelSelectorRequirementSchema = ciObject({
  Key: z.string().default(''),
  Operator: z.string().default(''),
  Values: nullish(z.array(z.string())),
})
export type LabelSelectorRequirement = z.infer<typeof LabelSelectorRequirementSchema>

export const TaskSchema = ciObject({
  Name: z.string().default(''),
  Engine: nullish(SpecConfigSchema),
  Publisher: nullish(SpecConfigSchema),
  Env: nullish(stringMap),
  Meta: nullish(stringMap),
  InputSources: nullish(z.array(InputSourceSchema)),
  ResultPaths: nullish(z.array(ResultPathSchema)),
  Resources: nullish(ResourcesConfigSchema),
  Network: nullish(NetworkConfigSchema),
  Timeouts: nullish(TimeoutConfigSchema),
})
export type Task = z.infer<typeof TaskSchema>

const stateByLower = new Map(jobStateNames.map((n) => [n.toLowerCase(), n]))
/** Unknown state names decode to Undefined, as Bacalhau leaves the value unchanged. */
const JobStateTypeSchema = z
  .string()
  .transform((v): JobStateType => stateByLower.get(v.toLowerCase()) ?? 'Undefined')

export const JobStateSchema = ciObject({
  StateType: JobStateTypeSchema.default('Undefined'),
  Message: nullish(z.string()),
  Details: nullish(stringMap),
})
export type JobState = z.infer<typeof JobStateSchema>

const nanos = z.union([z.number(), z.bigint(), z.string()]).transform(toNanos)

/** A job as read from a client: every field optional, normalised later. */
export const JobSchema = ciObject({
  ID: z.string().default(''),
  Name: z.string().default(''),
  Namespace: z.string().default(''),
  Type: z.string().default(''),
  Priority: int.default(0),
  Count: nullish(int),
  Constraints: nullish(z.array(LabelSelectorRequirementSchema)),
  Meta: nullish(stringMap),
  Labels: nullish(stringMap),
  Tasks: nullish(z.array(TaskSchema)),
  State: nullish(JobStateSchema),
  Version: nullish(int),
  Revision: nullish(int),
  CreateTime: nullish(nanos),
  ModifyTime: nullish(nanos),
})
export type JobInput = z.infer<typeof JobSchema>

/** A normalised, stored job: the shape the API emits. */
export interface Job {
  ID: string
  Name: string
  Namespace: string
  Type: string
  Priority: number
  Count: number
  Constraints: LabelSelectorRequirement[]
  Meta: Record<string, string>
  Labels: Record<string, string>
  Tasks: Task[]
  State: JobState
  Version: number
  Revision: number
  CreateTime: bigint
  ModifyTime: bigint
}

export const SubmitJobRequestSchema = ciObject({
  Job: nullish(JobSchema),
  Force: z.boolean().default(false),
})
