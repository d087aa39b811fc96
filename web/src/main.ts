import { createApp } from 'vue'
import { createPinia } from 'pinia'
import { setUnauthenticatedHandler } from '@/api/client'
import { setStreamUnauthenticatedHandler } from '@/stream/connection'
import { useAuthStore } from '@/features/auth/store'
import { loginLocation, router } from '@/app/router'
import App from './App.vue'
import './ui/element'
import './app/styles.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(router)

// A 401 anywhere (expired session, disabled user): back to the login page, then back here.
function sessionEnded(): void {
  const auth = useAuthStore(pinia)
  const wasLoggedIn = auth.user !== null
  auth.forget()
  const current = router.currentRoute.value
  if (wasLoggedIn || current.meta.role) void router.replace(loginLocation(current))
}
setUnauthenticatedHandler(sessionEnded)
setStreamUnauthenticatedHandler(sessionEnded)

app.mount('#app')
