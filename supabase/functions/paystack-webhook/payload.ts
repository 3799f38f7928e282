// What we need from a Paystack event. Everything else is kept as sent (the database stores the
// whole event). Paystack sends `metadata` as an object, "" or 0, so it is not constrained.
import { z } from "zod";

// kobo fits a safe integer by a wide margin; anything else is refused, never rounded.
const kobo = z.union([
  z.number().int().nonnegative().refine(Number.isSafeInteger, "amount must be exact"),
  z.string().regex(/^\d{1,20}$/, "amount must be a whole number of kobo"),
]);

export const paystackEvent = z.object({
  event: z.string().min(1).max(100),
  data: z.object({
    id: z.union([
      z.number().int().nonnegative().refine(Number.isSafeInteger),
      z.string().min(1).max(64),
    ]),
    // charge.* carry the reference here; refunds in transaction_reference; disputes in
    // transaction.reference (the database reads all three).
    reference: z.string().max(200).optional(),
    transaction_reference: z.string().max(200).optional(),
    // Charges send kobo as a JSON number; refund events send it as a string ("10000") in some
    // payloads. Either way it must be an exact whole number: never parsed into a float here.
    amount: kobo.optional(),
    requested_amount: kobo.optional(),
    currency: z.string().max(10).optional(),
    status: z.string().max(50).optional(),
    metadata: z.unknown().optional(),
  }).passthrough(),
}).passthrough();

export type PaystackEvent = z.infer<typeof paystackEvent>;
