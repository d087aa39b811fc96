import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, call } from '@/api/client'
import type { ApiTokenCreated, ApiTokenRead, Role, UserRead } from '@/api/types'

const PAGE_SIZE = 50

export const useUsersStore = defineStore('users', () => {
  const users = ref<UserRead[]>([])
  const search = ref('')
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)

  const tokens = ref<ApiTokenRead[]>([])
  const tokensLoading = ref(false)
  /** The API token just created: its secret is shown once. */
  const createdToken = ref<ApiTokenCreated | null>(null)
  /** Usernames by id (for the token owner column), from every user seen. */
  const names = ref<Record<number, string>>({})

  const userPath = (id: number) => ({ params: { path: { user_id: id } } })

  function remember(list: UserRead[]): void {
    const next = { ...names.value }
    for (const u of list) next[u.id] = u.username
    names.value = next
  }

  async function fetchPage(cursor: string | null) {
    const query = { limit: PAGE_SIZE, cursor, search: search.value.trim() || undefined }
    const page = await call(api.GET('/api/v1/users', { params: { query } }))
    remember(page.items)
    return page
  }

  async function load(): Promise<void> {
    loading.value = true
    try {
      const page = await fetchPage(null)
      users.value = page.items
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
      loaded.value = true
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value) return
    loading.value = true
    try {
      const page = await fetchPage(nextCursor.value)
      users.value = [...users.value, ...page.items]
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  function replace(user: UserRead): void {
    users.value = users.value.map((u) => (u.id === user.id ? user : u))
    remember([user])
  }

  async function create(username: string, password: string, role: Role): Promise<void> {
    const user = await call(api.POST('/api/v1/users', { body: { username, password, role } }))
    users.value = [user, ...users.value]
    remember([user])
  }

  async function update(id: number, body: { role?: Role; password?: string; disabled?: boolean }) {
    const user = await call(api.PATCH('/api/v1/users/{user_id}', { ...userPath(id), body }))
    replace(user)
    return user
  }

  async function remove(id: number): Promise<void> {
    await call(api.DELETE('/api/v1/users/{user_id}', userPath(id)))
    users.value = users.value.filter((u) => u.id !== id)
  }

  async function loadTokens(): Promise<void> {
    tokensLoading.value = true
    try {
      tokens.value = await call(api.GET('/api/v1/auth/tokens'))
    } finally {
      tokensLoading.value = false
    }
  }

  async function createToken(name: string, userId: number | null, expiresInDays: number | null): Promise<void> {
    createdToken.value = await call(
      api.POST('/api/v1/auth/tokens', { body: { name, user_id: userId, expires_in_days: expiresInDays } }),
    )
    await loadTokens()
  }

  async function revokeToken(id: number): Promise<void> {
    const token = await call(api.DELETE('/api/v1/auth/tokens/{token_id}', { params: { path: { token_id: id } } }))
    tokens.value = tokens.value.map((t) => (t.id === id ? token : t))
  }

  return {
    users, search, nextCursor, loading, loaded, tokens, tokensLoading, createdToken, names,
    load, loadMore, create, update, remove, loadTokens, createToken, revokeToken,
  }
})
