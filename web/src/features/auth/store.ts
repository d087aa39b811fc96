import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, call } from '@/api/client'
import type { Role, UserRead } from '@/api/types'
import { liveStream } from '@/stream/connection'
import { roleAllows } from './roles'

export const useAuthStore = defineStore('auth', () => {
  const user = ref<UserRead | null>(null)
  /** Whether we asked the server who we are since the page loaded. */
  const checked = ref(false)

  const role = computed<Role | null>(() => user.value?.role ?? null)
  const can = (required: Role): boolean => roleAllows(role.value, required)

  /** Who the session cookie belongs to; null when not logged in. */
  async function fetchMe(): Promise<UserRead | null> {
    try {
      user.value = await call(api.GET('/api/v1/auth/me'), { quiet: true })
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      user.value = null
    } finally {
      checked.value = true
    }
    return user.value
  }

  async function login(username: string, password: string): Promise<void> {
    const response = await call(api.POST('/api/v1/auth/login', { body: { username, password } }), {
      quiet: true,
    })
    user.value = response.user
    checked.value = true
  }

  async function logout(): Promise<void> {
    liveStream.stop()
    try {
      await call(api.POST('/api/v1/auth/logout'), { quiet: true })
    } finally {
      user.value = null
    }
  }

  /** The session ended on the server side (expired, user disabled): forget it locally. */
  function forget(): void {
    liveStream.stop()
    user.value = null
  }

  return { user, checked, role, can, fetchMe, login, logout, forget }
})
