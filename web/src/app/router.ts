import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { ElMessage } from 'element-plus'
import { showError } from '@/api/client'
import type { Role } from '@/api/types'
import { useAuthStore } from '@/features/auth/store'
import AppLayout from './AppLayout.vue'

declare module 'vue-router' {
  interface RouteMeta {
    /** Least role that may open the page; pages without one are public. */
    role?: Role
    title?: string
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    {
      path: '/login',
      name: 'login',
      component: () => import('@/features/auth/LoginPage.vue'),
      meta: { title: 'Log in' },
    },
    {
      path: '/',
      component: AppLayout,
      children: [
        {
          path: '',
          name: 'overview',
          component: () => import('@/features/fleet/FleetOverviewPage.vue'),
          meta: { role: 'viewer', title: 'Fleet' },
        },
        {
          path: 'nodes',
          name: 'nodes',
          component: () => import('@/features/fleet/NodeListPage.vue'),
          meta: { role: 'viewer', title: 'Nodes' },
        },
        {
          path: 'nodes/:id',
          name: 'node',
          component: () => import('@/features/fleet/NodeDetailPage.vue'),
          props: true,
          meta: { role: 'viewer', title: 'Node' },
        },
        {
          path: 'explore',
          name: 'metrics',
          component: () => import('@/features/metrics/ExplorerPage.vue'),
          meta: { role: 'viewer', title: 'Metrics' },
        },
        {
          path: 'alerts',
          component: () => import('@/features/alerts/AlertsLayout.vue'),
          meta: { role: 'viewer', title: 'Alerts' },
          children: [
            { path: '', name: 'alerts', component: () => import('@/features/alerts/ActiveAlertsPage.vue'), meta: { title: 'Alerts' } },
            { path: 'incidents', name: 'incidents', component: () => import('@/features/alerts/IncidentsPage.vue'), meta: { title: 'Incidents' } },
            {
              path: 'incidents/:id(\\d+)',
              name: 'incident',
              component: () => import('@/features/alerts/IncidentPage.vue'),
              props: true,
              meta: { title: 'Incident' },
            },
            { path: 'rules', name: 'alert-rules', component: () => import('@/features/alerts/RulesPage.vue'), meta: { title: 'Alert rules' } },
            { path: 'silences', name: 'silences', component: () => import('@/features/alerts/SilencesPage.vue'), meta: { title: 'Silences' } },
            { path: 'inhibition', name: 'inhibition', component: () => import('@/features/alerts/InhibitionPage.vue'), meta: { title: 'Inhibition' } },
            { path: 'channels', name: 'channels', component: () => import('@/features/alerts/ChannelsPage.vue'), meta: { title: 'Channels' } },
            { path: 'routing', name: 'routing', component: () => import('@/features/alerts/RoutingPage.vue'), meta: { title: 'Routing' } },
            { path: 'deliveries', name: 'deliveries', component: () => import('@/features/alerts/DeliveriesPage.vue'), meta: { title: 'Delivery log' } },
            { path: 'history', name: 'alert-history', component: () => import('@/features/alerts/HistoryPage.vue'), meta: { title: 'Alert history' } },
          ],
        },
        {
          path: 'dumps',
          component: () => import('@/features/dumps/DumpsLayout.vue'),
          meta: { role: 'viewer', title: 'Heap dumps' },
          children: [
            { path: '', name: 'dumps', component: () => import('@/features/dumps/DashboardPage.vue'), meta: { title: 'Heap dumps' } },
            { path: 'files', name: 'dump-files', component: () => import('@/features/dumps/FileListPage.vue'), meta: { title: 'Heap-dump files' } },
            {
              path: 'files/:id(\\d+)',
              name: 'dump-file',
              component: () => import('@/features/dumps/FileDetailPage.vue'),
              props: true,
              meta: { title: 'Heap dump' },
            },
            { path: 'retries', name: 'dump-retries', component: () => import('@/features/dumps/RetriesPage.vue'), meta: { title: 'Heap-dump retries' } },
            { path: 'settings', name: 'dump-settings', component: () => import('@/features/dumps/SettingsPage.vue'), meta: { title: 'Heap-dump settings' } },
          ],
        },
        {
          path: 'enrollment',
          name: 'enrollment',
          component: () => import('@/features/enrollment/EnrollmentPage.vue'),
          meta: { role: 'admin', title: 'Enrollment' },
        },
        {
          path: 'users',
          name: 'users',
          component: () => import('@/features/users/UsersPage.vue'),
          meta: { role: 'admin', title: 'Users' },
        },
        {
          path: 'audit',
          name: 'audit',
          component: () => import('@/features/audit/AuditPage.vue'),
          meta: { role: 'admin', title: 'Audit log' },
        },
        {
          path: ':pathMatch(.*)*',
          name: 'not-found',
          component: () => import('./NotFoundPage.vue'),
          meta: { role: 'viewer', title: 'Not found' },
        },
      ],
    },
  ],
})

export function loginLocation(from: RouteLocationNormalized | null) {
  const redirect = from && from.name !== 'login' ? from.fullPath : undefined
  return { name: 'login', query: redirect && redirect !== '/' ? { redirect } : {} }
}

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (!auth.checked) {
    try {
      await auth.fetchMe()
    } catch (error) {
      showError(error) // server unreachable: say so, and offer the login page
    }
  }
  const required = to.meta.role
  if (to.name === 'login') return auth.user ? { name: 'overview' } : true
  if (!required) return true
  if (!auth.user) return loginLocation(to)
  if (!auth.can(required)) {
    ElMessage.warning(`${to.meta.title ?? 'That page'} needs the ${required} role`)
    return { name: 'overview' }
  }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · opsplane` : 'opsplane'
})
