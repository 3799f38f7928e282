// What we need from a Paystack event. Everything else is kept as sent (the database stores the
// whole event). Paystack sends `metadata` as an object, "" or 0, so it is not constrained.
import { z } from "zod";

export const paystackEvent = z.object({
  event: z.string().min(1).max(100),
  data: z.object({
    // kobo fits a safe integer by a wide margin; anything else is refused, never rounded.
    id: z.union([
      z.number().int().nonnegative().refine(Number.isSafeInteger),
      z.string().min(1).max(64),
    ]),
    reference: z.string().max(200).optional(),
    amount: z.number().int().nonnegative().refine(Number.isSafeInteger, "amount must be exact")
      .optional(),
    currency: z.string().max(10).optional(),
    status: z.string().max(50).optional(),
    metadata: z.unknown().optional(),
  }).passthrough(),
}).passthrough();

export type PaystackEvent = z.infer<typeof paystackEvent>;
