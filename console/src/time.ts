/// <reference lib="dom" />
// Times in the business zone (Africa/Lagos unless the project says otherwise), always with the
// offset, so an admin never guesses which clock a slot runs on.
export const BUSINESS_ZONE = "Africa/Lagos";

/** "+01:00" for an instant in the zone. */
export function offsetAt(instant: Date, zone = BUSINESS_ZONE): string {
  const part = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(instant).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-]\d{2}:\d{2})?/.exec(part);
  return m?.[1] ?? "+00:00";
}

/** "2026-11-22 09:15:00 +01:00". */
export function formatInZone(iso: string | null | undefined, zone = BUSINESS_ZONE): string {
  if (!iso) return "—";
  const d = new Date(iso);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    }).formatToParts(d).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${
    offsetAt(d, zone)
  }`;
}

/** The business day of an instant: "2026-11-22". */
export function dayInZone(instant: Date, zone = BUSINESS_ZONE): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(instant);
}

/** "HH:MM" on a business day, as an ISO timestamp with the zone's offset that day. */
export function timeOnDay(day: string, hhmm: string, zone = BUSINESS_ZONE): string {
  const noon = new Date(`${day}T12:00:00Z`);
  return `${day}T${hhmm.length === 5 ? hhmm + ":00" : hhmm}${offsetAt(noon, zone)}`;
}

/** "HH:MM" of an instant in the zone (for editing a slot's time). */
export function clockInZone(iso: string, zone = BUSINESS_ZONE): string {
  return formatInZone(iso, zone).slice(11, 16);
}
