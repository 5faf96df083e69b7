// The plan profiler's arithmetic: totals the annotated dispatches of recorded plans (src/gpu/dispatch-cost.ts) by
// kernel class and by role (the dispatch label without its layer number), finds the thin dispatches (real work in
// fewer workgroups than a large GPU has cores), and models each pass's time on the device profiles of
// ./device-profiles.ts. Nothing here runs on a GPU.
import { modelledDispatchMs, type DeviceProfile } from './device-profiles.ts';
import type { Plan } from './plan.ts';

export interface DispatchRecord {
  label: string;
  kernel: string;
  /** The label with numbers replaced by '*': one role per projection and pass, whatever the layer. */
  role: string;
  workgroups: number;
  flops: number;
  bytes: number;
}

export interface GroupProfile {
  name: string;
  dispatches: number;
  /** Workgroups of all its dispatches together; min and max per dispatch beside it. */
  workgroups: number;
  minWorkgroups: number;
  maxWorkgroups: number;
  flops: number;
  bytes: number;
  modelled_ms: Record<string, number>;
  /** Measured with timestamp queries, when the profiler ran the plans (--timestamps). */
  measured_ms?: number;
}

export interface PassProfile {
  dispatches: number;
  flops: number;
  bytes: number;
  /** One entry per kernel class. */
  classes: GroupProfile[];
  /** One entry per role (e.g. l*.q_proj.bwd.dA), the finer view. */
  roles: GroupProfile[];
  /** Dispatches doing more than THIN_MIN_FLOPS with fewer workgroups than `thinBelow`. */
  thin: { below: number; dispatches: number; flops: number; modelled_ms: Record<string, number> };
  modelled_ms: Record<string, number>;
  measured_ms?: number;
}

/** A dispatch counts as thin only above this much work: tiny reductions in one workgroup are not the problem. */
export const THIN_MIN_FLOPS = 1e6;

/** The annotated dispatches of `plans`, in order. */
export function planDispatches(plans: readonly Plan[]): DispatchRecord[] {
  const out: DispatchRecord[] = [];
  for (const plan of plans) {
    for (const op of plan.ops) {
      if (op.kind !== 'dispatch') continue;
      out.push({
        label: op.label, kernel: op.cost.kernel, role: op.label.replace(/\d+/g, '*'),
        workgroups: op.x * op.y * op.z, flops: op.cost.flops, bytes: op.cost.bytes,
      });
    }
  }
  return out;
}

function group(records: readonly DispatchRecord[], key: (r: DispatchRecord) => string, profiles: readonly DeviceProfile[], measured?: readonly number[]): GroupProfile[] {
  const groups = new Map<string, GroupProfile>();
  records.forEach((r, i) => {
    const name = key(r);
    let g = groups.get(name);
    if (!g) {
      g = { name, dispatches: 0, workgroups: 0, minWorkgroups: Infinity, maxWorkgroups: 0, flops: 0, bytes: 0, modelled_ms: Object.fromEntries(profiles.map((p) => [p.name, 0])) };
      if (measured) g.measured_ms = 0;
      groups.set(name, g);
    }
    g.dispatches++;
    g.workgroups += r.workgroups;
    g.minWorkgroups = Math.min(g.minWorkgroups, r.workgroups);
    g.maxWorkgroups = Math.max(g.maxWorkgroups, r.workgroups);
    g.flops += r.flops;
    g.bytes += r.bytes;
    for (const p of profiles) g.modelled_ms[p.name] += modelledDispatchMs(p, r);
    if (measured) g.measured_ms! += measured[i];
  });
  // Most expensive first, by the first profile's model.
  const first = profiles[0]?.name;
  return [...groups.values()].sort((a, b) => (first ? b.modelled_ms[first] - a.modelled_ms[first] : b.flops - a.flops));
}

/**
 * The profile of one pass (a training step's plans, or a forward pass's). `measured` gives each dispatch's measured
 * milliseconds, in the order of planDispatches. `thinBelow`: workgroups under which a dispatch is thin (default: the
 * most compute units of `profiles`).
 */
export function profilePass(records: readonly DispatchRecord[], profiles: readonly DeviceProfile[], measured?: readonly number[], thinBelow?: number): PassProfile {
  if (measured && measured.length !== records.length) throw new Error(`profilePass: ${measured.length} timings for ${records.length} dispatches`);
  const below = thinBelow ?? Math.max(1, ...profiles.map((p) => p.computeUnits));
  const thinRecords = records.filter((r) => r.flops > THIN_MIN_FLOPS && r.workgroups < below);
  const total = (rs: readonly DispatchRecord[]) => Object.fromEntries(profiles.map((p) => [p.name, rs.reduce((s, r) => s + modelledDispatchMs(p, r), 0)]));
  const pass: PassProfile = {
    dispatches: records.length,
    flops: records.reduce((s, r) => s + r.flops, 0),
    bytes: records.reduce((s, r) => s + r.bytes, 0),
    classes: group(records, (r) => r.kernel, profiles, measured),
    roles: group(records, (r) => r.role, profiles, measured),
    thin: { below, dispatches: thinRecords.length, flops: thinRecords.reduce((s, r) => s + r.flops, 0), modelled_ms: total(thinRecords) },
    modelled_ms: total(records),
  };
  if (measured) pass.measured_ms = measured.reduce((s, t) => s + t, 0);
  return pass;
}
