// One shared WebSocket to /api/v1/ui/stream for the whole app: topic subscriptions with
// reference counting, resubscription after a reconnect, jittered exponential backoff.
import { ref, type Ref } from 'vue'

export type StreamState = 'idle' | 'connecting' | 'open' | 'reconnecting'
export type TopicHandler = (data: unknown) => void

const CLOSE_UNAUTHENTICATED = 4401
const MAX_BACKOFF_MS = 30_000

export class LiveStream {
  readonly state: Ref<StreamState> = ref('idle')
  private ws: WebSocket | null = null
  private handlers = new Map<string, Set<TopicHandler>>()
  /** The newest snapshot per subscribed topic, handed to a handler that joins late. */
  private latest = new Map<string, unknown>()
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = true

  constructor(
    private readonly url: () => string,
    private readonly onUnauthenticated: () => void = () => {},
  ) {}

  /** Receive every snapshot of `topic` (the first one arrives right after subscribing). */
  subscribe(topic: string, handler: TopicHandler): () => void {
    let set = this.handlers.get(topic)
    if (!set) {
      set = new Set()
      this.handlers.set(topic, set)
      this.send({ subscribe: [topic] })
    } else if (this.latest.has(topic)) {
      // The server sends a snapshot only to a new subscription: replay the newest one.
      const data = this.latest.get(topic)
      queueMicrotask(() => {
        if (this.handlers.get(topic)?.has(handler)) handler(data)
      })
    }
    set.add(handler)
    this.start()
    return () => this.unsubscribe(topic, handler)
  }

  /** Close the socket and forget every subscription (on logout). */
  stop(): void {
    this.stopped = true
    this.handlers.clear()
    this.latest.clear()
    this.clearRetry()
    const ws = this.ws
    this.ws = null
    ws?.close(1000, 'bye')
    this.state.value = 'idle'
  }

  private unsubscribe(topic: string, handler: TopicHandler): void {
    const set = this.handlers.get(topic)
    if (!set) return
    set.delete(handler)
    if (set.size === 0) {
      this.handlers.delete(topic)
      this.latest.delete(topic)
      this.send({ unsubscribe: [topic] })
    }
  }

  private start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.connect()
  }

  private connect(): void {
    this.clearRetry()
    this.state.value = this.attempt === 0 ? 'connecting' : 'reconnecting'
    const ws = new WebSocket(this.url())
    this.ws = ws
    ws.onopen = () => {
      this.attempt = 0
      this.state.value = 'open'
      const topics = [...this.handlers.keys()]
      if (topics.length) this.send({ subscribe: topics })
    }
    ws.onmessage = (event: MessageEvent) => this.dispatch(event.data)
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return // replaced or stopped on purpose
      this.ws = null
      if (event.code === CLOSE_UNAUTHENTICATED) {
        this.stop()
        this.onUnauthenticated()
        return
      }
      this.scheduleReconnect()
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    this.state.value = 'reconnecting'
    const ceiling = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt)
    this.attempt += 1
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    this.retryTimer = setTimeout(() => this.connect(), delay)
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'string') return
    let message: unknown
    try {
      message = JSON.parse(raw)
    } catch {
      return
    }
    if (typeof message !== 'object' || message === null) return
    const { topic, data } = message as { topic?: unknown; data?: unknown }
    if (typeof topic !== 'string' || !this.handlers.has(topic)) return
    this.latest.set(topic, data)
    for (const handler of this.handlers.get(topic) ?? []) handler(data)
  }

  private send(message: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message))
  }
}

function streamUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${window.location.host}/api/v1/ui/stream`
}

let unauthenticatedHandler: () => void = () => {}

export function setStreamUnauthenticatedHandler(handler: () => void): void {
  unauthenticatedHandler = handler
}

/** The app's one stream. */
export const liveStream = new LiveStream(streamUrl, () => unauthenticatedHandler())
