// Whether a WebGPU device was lost, asked after a step failed: a run stopped by a lost device (a GPU-process crash, a
// driver reset, `device.destroy()`) is resumable, while any other failure is the run's own. The failing call's error
// says little (a lost device shows up as "Buffer was unmapped before mapping was resolved", an invalid buffer or an
// empty message) and can arrive before the device's `lost` promise settles, so the device's own state decides, with a
// short wait for it to settle.

/** How long a failure waits for `device.lost` to settle before it is taken as the run's own. */
export const LOSS_SETTLE_MS = 1000;

/** The device's loss (reason and message), or null when it is still alive `waitMs` after the failure. */
export async function deviceLoss(device: GPUDevice, waitMs = LOSS_SETTLE_MS): Promise<{ reason: string; message: string } | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const alive = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), waitMs);
  });
  try {
    const info = await Promise.race([device.lost, alive]);
    return info ? { reason: String(info.reason ?? 'unknown'), message: info.message || '' } : null;
  } finally {
    clearTimeout(timer);
  }
}

/** "destroyed: device was destroyed": a loss as one phrase for a message. */
export function describeLoss(loss: { reason: string; message: string }): string {
  return loss.message ? `${loss.reason}: ${loss.message}` : loss.reason;
}
