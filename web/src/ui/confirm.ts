import { ElMessageBox } from 'element-plus'

/** Ask before doing something that cannot be undone; false when the user backs out. */
export async function confirmed(message: string, title: string, action: string, danger = true): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      confirmButtonText: action,
      cancelButtonText: 'Cancel',
      type: 'warning',
      confirmButtonClass: danger ? 'el-button--danger' : undefined,
    })
    return true
  } catch {
    return false
  }
}
