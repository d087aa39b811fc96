// The API client: types generated from the server's OpenAPI schema (src/api/schema.d.ts, made by
// `make web`), openapi-fetch at run time. `call()` turns the error envelope into an ApiError.
import createClient, { type Middleware } from 'openapi-fetch'
import { ElMessage } from 'element-plus'
import type { paths } from './schema'

export const api = createClient<paths>({ baseUrl: '' })

/** An error from the API's `{"error": {"code", "message", "details"}}` envelope (or the network). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

type Unauthenticated = () => void
let onUnauthenticated: Unauthenticated = () => {}

/** What to do when a request comes back 401 (the app sends the user to the login page). */
export function setUnauthenticatedHandler(handler: Unauthenticated): void {
  onUnauthenticated = handler
}

/** Report a 401 from a request made without `api` (the Prometheus API's own envelope). */
export function reportUnauthenticated(): void {
  onUnauthenticated()
}

const unauthenticated: Middleware = {
  onResponse({ request, response }) {
    if (response.status === 401 && !request.url.includes('/api/v1/auth/')) onUnauthenticated()
    return undefined
  },
}
api.use(unauthenticated)

function envelope(body: unknown): { code?: unknown; message?: unknown; details?: unknown } | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null
  const error = (body as { error: unknown }).error
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : null
}

export function toApiError(response: Response, body: unknown): ApiError {
  const error = envelope(body)
  const code = typeof error?.code === 'string' ? error.code : `http_${response.status}`
  const message =
    typeof error?.message === 'string' ? error.message : response.statusText || 'request failed'
  return new ApiError(response.status, code, message, error?.details ?? null)
}

export interface CallOptions {
  /** Do not show the error in a toast (the caller shows it itself). */
  quiet?: boolean
}

type Outcome = { data?: unknown; error?: unknown; response: Response }

/** Await an openapi-fetch request: its data, or a thrown ApiError (shown in a toast). */
export async function call<R extends Outcome>(
  request: Promise<R>,
  options: CallOptions = {},
): Promise<Exclude<R['data'], undefined>> {
  let outcome: R
  try {
    outcome = await request
  } catch (cause) {
    const error = new ApiError(0, 'network', `cannot reach the server (${String(cause)})`)
    if (!options.quiet) showError(error)
    throw error
  }
  if (outcome.response.ok) return outcome.data as Exclude<R['data'], undefined>
  const error = toApiError(outcome.response, outcome.error)
  // A 401 sends the user to the login page already; a toast on top of it is noise.
  if (!options.quiet && error.status !== 401) showError(error)
  throw error
}

export function showError(error: unknown): void {
  if (error instanceof ApiError) {
    ElMessage.error({ message: `${error.message} (${error.code})`, grouping: true })
  } else {
    ElMessage.error({ message: String(error), grouping: true })
  }
}
