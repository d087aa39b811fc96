import { ElMessageBox } from 'element-plus'

export { confirmed } from '@/ui/confirm'

/** An optional comment (ack, resolve); null when the user backs out. */
export async function optionalComment(title: string, action: string): Promise<string | null> {
  try {
    const { value } = await ElMessageBox.prompt('Comment (optional): it goes into the incident timeline.', title, {
      confirmButtonText: action,
      cancelButtonText: 'Cancel',
      inputPlaceholder: 'e.g. looking into it',
      inputValidator: (v: string) => (v ?? '').length <= 512 || 'at most 512 characters',
    })
    return (value ?? '').trim()
  } catch {
    return null
  }
}
