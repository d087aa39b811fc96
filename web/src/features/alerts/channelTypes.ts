// The settings form of each channel type (mirrors server alerts/channels/types.py). Secret
// settings are never sent back by the server: on edit, a blank secret keeps the stored one.
import type { ChannelType } from '@/api/types'

export type FieldKind = 'text' | 'textarea' | 'secret' | 'number' | 'list' | 'map' | 'select'

export interface FieldSpec {
  key: string
  label: string
  kind: FieldKind
  required?: boolean
  /** Whether the server keeps the value secret (`secrets_set` says whether it has one). */
  secret?: boolean
  options?: string[]
  placeholder?: string
  initial?: string | number
  hint?: string
}

export const CHANNEL_TYPES: { type: ChannelType; label: string }[] = [
  { type: 'webhook', label: 'Webhook (JSON)' },
  { type: 'alertmanager', label: 'Alertmanager-compatible webhook' },
  { type: 'email', label: 'Email (SMTP)' },
  { type: 'slack', label: 'Slack' },
  { type: 'dingtalk', label: 'DingTalk' },
  { type: 'wecom', label: 'WeCom' },
]

export const CHANNEL_FIELDS: Record<ChannelType, FieldSpec[]> = {
  webhook: [
    { key: 'url', label: 'URL', kind: 'text', required: true, placeholder: 'https://hooks.example.com/opsplane' },
    { key: 'headers', label: 'Headers', kind: 'map', secret: true, hint: 'e.g. Authorization; kept secret' },
    { key: 'hmac_secret', label: 'HMAC secret', kind: 'secret', secret: true, hint: 'signs the body' },
  ],
  alertmanager: [
    { key: 'url', label: 'URL', kind: 'text', required: true, placeholder: 'http://receiver:9095/alerts' },
    { key: 'bearer_token', label: 'Bearer token', kind: 'secret', secret: true },
    { key: 'headers', label: 'Headers', kind: 'map', secret: true },
    { key: 'max_alerts', label: 'Max alerts', kind: 'number', initial: 0, hint: '0: no limit' },
  ],
  email: [
    { key: 'host', label: 'SMTP host', kind: 'text', required: true, placeholder: 'smtp.example.com' },
    { key: 'port', label: 'Port', kind: 'number', initial: 587 },
    { key: 'security', label: 'Security', kind: 'select', options: ['starttls', 'tls', 'none'], initial: 'starttls' },
    { key: 'username', label: 'Username', kind: 'text' },
    { key: 'password', label: 'Password', kind: 'secret', secret: true },
    { key: 'from_addr', label: 'From', kind: 'text', required: true, placeholder: 'opsplane@example.com' },
    { key: 'to', label: 'To', kind: 'list', required: true, placeholder: 'oncall@example.com, ops@example.com' },
    { key: 'subject_prefix', label: 'Subject prefix', kind: 'text', placeholder: '[opsplane]' },
    { key: 'timeout', label: 'Timeout (s)', kind: 'number', initial: 10 },
    { key: 'ca_cert', label: 'CA certificate', kind: 'textarea', placeholder: '-----BEGIN CERTIFICATE-----', hint: 'PEM of a private CA to trust for TLS; empty: the system CAs' },
  ],
  slack: [
    { key: 'webhook_url', label: 'Webhook URL', kind: 'secret', secret: true, required: true, placeholder: 'https://hooks.slack.com/services/…' },
    { key: 'channel', label: 'Channel', kind: 'text', placeholder: '#alerts' },
    { key: 'username', label: 'Username', kind: 'text' },
    { key: 'icon_emoji', label: 'Icon emoji', kind: 'text', placeholder: ':rotating_light:' },
  ],
  dingtalk: [
    { key: 'webhook_url', label: 'Webhook URL', kind: 'secret', secret: true, required: true, placeholder: 'https://oapi.dingtalk.com/robot/send?access_token=…' },
    { key: 'sign_secret', label: 'Sign secret', kind: 'secret', secret: true },
    { key: 'at_mobiles', label: '@ mobiles', kind: 'list', placeholder: '13800000000, 13900000000' },
  ],
  wecom: [
    { key: 'webhook_url', label: 'Webhook URL', kind: 'secret', secret: true, required: true, placeholder: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…' },
  ],
}

/** A one-line description of a channel's target, from its (non-secret) config. */
export function channelTarget(type: string, config: Record<string, unknown>): string {
  switch (type) {
    case 'webhook':
    case 'alertmanager':
      return String(config.url ?? '')
    case 'email':
      return `${Array.isArray(config.to) ? config.to.join(', ') : ''} via ${String(config.host ?? '')}:${String(config.port ?? '')}`
    case 'slack':
      return String(config.channel ?? 'Slack webhook')
    default:
      return `${type} robot`
  }
}
