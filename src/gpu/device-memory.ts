// What the memory policy (src/model/memory-estimate.ts) reads of a device: its buffer limits, whether it is a software
// adapter allocating from the host, and the host's memory where the platform says (Node registers os.totalmem() when it
// creates a device; a browser reports navigator.deviceMemory, rounded and capped at 8 GiB).
import type { DeviceMemory } from '../model/memory-estimate.ts';
import type { Gpu } from './context.ts';

let hostMemoryBytes: number | null = null;

/** Sets the host memory the policy assumes for software adapters (node-device.ts calls it; tests may too). */
export function setHostMemoryBytes(bytes: number | null): void {
  hostMemoryBytes = bytes;
}

function browserDeviceMemory(): number | null {
  const gib = (globalThis as { navigator?: { deviceMemory?: unknown } }).navigator?.deviceMemory;
  return typeof gib === 'number' && gib > 0 ? gib * 2 ** 30 : null;
}

export function deviceMemoryOf(gpu: Gpu): DeviceMemory {
  const l = gpu.device.limits;
  return {
    // The binding limit the engine slices for (lowered in tests), so the policy chunks the loss where the plan will.
    maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: gpu.bindingLimit,
    isSoftware: gpu.adapter.isSoftware, hostMemoryBytes: hostMemoryBytes ?? browserDeviceMemory(),
  };
}
