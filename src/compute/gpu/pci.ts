// PCI address normalisation shared by the three parsers.
//
// The tools disagree: nvidia-smi prints an 8-hex-digit domain in upper case
// (`00000000:3B:00.0`), rocm-smi prints upper case (`0000:E7:00.0`), xpu-smi prints the sysfs
// form (`0000:4d:00.0`). Bacalhau lower-cases rocm-smi's value (its amd_test expects
// `0000:e7:00.0`) because the address is later used to find `/dev/dri/by-path/pci-<addr>-card`
// (bacalhau-behaviour.md §4.2), and sysfs names are `%04x:%02x:%02x.%x`. So we emit exactly the
// sysfs spelling: domain printed with at least 4 lower-case hex digits, the rest lower-case.

const PCI_RE = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/i

/** Values the tools print in place of an address they cannot read. */
const NOT_AVAILABLE = new Set(['', 'n/a', '[n/a]', 'not supported', '[not supported]', 'unknown'])

/**
 * Normalises a PCI bus id to `AAAA:BB:CC.C` (lower case). Returns '' for "not available" markers;
 * throws, naming the tool, for anything else that is not a PCI address.
 */
export function normalizePciAddress(raw: string, tool: string): string {
  const v = raw.trim()
  if (NOT_AVAILABLE.has(v.toLowerCase())) return ''
  const m = PCI_RE.exec(v)
  if (!m) throw new Error(`${tool}: invalid PCI address ${JSON.stringify(raw)}`)
  const hex = (s: string, width: number) => parseInt(s, 16).toString(16).padStart(width, '0')
  // A domain wider than 16 bits (VMD, some hypervisors) keeps all its digits, as sysfs does.
  const domain = hex(m[1] ?? '0', 4)
  return `${domain}:${hex(m[2], 2)}:${hex(m[3], 2)}.${m[4]}`
}
