import type { Role } from '@/api/types'

// Mirrors the server's ordering (server/auth/roles.py): each role can do what those below can.
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

export const ROLES: Role[] = ['viewer', 'operator', 'admin']

export function roleAllows(role: Role | null | undefined, required: Role): boolean {
  return role !== null && role !== undefined && RANK[role] >= RANK[required]
}
