// Named crash points for the chaos harness and the recovery tests. A request can ask the function
// to die at one of them, but only where ALLOW_FAULT_INJECTION=1 (the local test stack): in
// production the field is ignored. `<point>` throws there; `spin_<point>` burns CPU there until
// the edge runtime stops the worker at its CPU limit (546), as a run that outgrew its budget would
// be stopped on hosted Supabase: nothing after that point runs, not even a catch.
const POINTS = [
  "after_claim",
  "after_sign",
  "after_record",
  "after_broadcast",
  "before_confirm",
] as const;
export type FaultPoint = typeof POINTS[number];
export const FAULT_POINTS = [...POINTS, ...POINTS.map((p) => `spin_${p}` as const)] as [
  FaultPoint | `spin_${FaultPoint}`,
  ...(FaultPoint | `spin_${FaultPoint}`)[],
];
export type Fault = typeof FAULT_POINTS[number];

export class InjectedCrash extends Error {
  constructor(readonly point: FaultPoint) {
    super(`injected crash at ${point}`);
  }
}

/** Whether this stack honours test-only fields (`_fault`, a smaller budget): test stacks only. */
export const faultsAllowed = () => Deno.env.get("ALLOW_FAULT_INJECTION") === "1";

export function faultInjector(requested: Fault | undefined) {
  const enabled = faultsAllowed();
  return (point: FaultPoint) => {
    if (!enabled) return;
    if (requested === point) throw new InjectedCrash(point);
    if (requested === `spin_${point}`) spinForever();
  };
}

function spinForever(): never {
  let x = 0;
  while (true) x = (x + 1) % 1_000_003;
}
