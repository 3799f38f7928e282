// Named crash points for the chaos harness and the recovery tests. A request can ask the function
// to die at one of them, but only where ALLOW_FAULT_INJECTION=1 (the local test stack): in
// production the field is ignored.
export const FAULT_POINTS = [
  "after_claim",
  "after_sign",
  "after_record",
  "after_broadcast",
  "before_confirm",
] as const;
export type FaultPoint = typeof FAULT_POINTS[number];

export class InjectedCrash extends Error {
  constructor(readonly point: FaultPoint) {
    super(`injected crash at ${point}`);
  }
}

export function faultInjector(requested: FaultPoint | undefined) {
  const enabled = Deno.env.get("ALLOW_FAULT_INJECTION") === "1";
  return (point: FaultPoint) => {
    if (enabled && requested === point) throw new InjectedCrash(point);
  };
}
