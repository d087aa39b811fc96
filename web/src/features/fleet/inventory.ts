// The node's inventory arrives as a free-form object (NodeDetail.inventory is `dict[str, Any]`
// in the API schema): read the fields the page shows defensively.
export interface DiskInfo {
  device: string
  mountpoint: string
  fstype: string
  totalBytes: number | null
}

export interface InventoryView {
  hostname: string
  os: string
  kernel: string
  arch: string
  cpuModel: string
  cpuCount: number | null
  memoryBytes: number | null
  swapBytes: number | null
  disks: DiskInfo[]
  ipAddresses: string[]
  bootTime: number | null
  agentVersion: string
  pythonVersion: string
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function disk(v: unknown): DiskInfo | null {
  if (typeof v !== 'object' || v === null) return null
  const d = v as Record<string, unknown>
  return { device: str(d.device), mountpoint: str(d.mountpoint), fstype: str(d.fstype), totalBytes: num(d.total_bytes) }
}

export function readInventory(inventory: Record<string, unknown>): InventoryView {
  const disks = Array.isArray(inventory.disks) ? inventory.disks.map(disk).filter((d) => d !== null) : []
  const ips = Array.isArray(inventory.ip_addresses) ? inventory.ip_addresses.map(str) : []
  return {
    hostname: str(inventory.hostname),
    os: str(inventory.os),
    kernel: str(inventory.kernel),
    arch: str(inventory.arch),
    cpuModel: str(inventory.cpu_model),
    cpuCount: num(inventory.cpu_count),
    memoryBytes: num(inventory.memory_bytes),
    swapBytes: num(inventory.swap_bytes),
    disks,
    ipAddresses: ips,
    bootTime: num(inventory.boot_time),
    agentVersion: str(inventory.agent_version),
    pythonVersion: str(inventory.python_version),
  }
}
