-- Entries by transaction. Without it, two lookups read every entry ever written: the guard that
-- lets a slot run that paid nobody delete its empty transaction, and credit_funded_wallet's
-- duplicate check. A slot's entries share one new transaction id, so they fill this index at its
-- right-most page, in order.
-- `if not exists`: on a database that already holds many entries, build it first with
-- `create index concurrently ledger_entries_transaction on app.ledger_entries (transaction_id)`
-- (a plain build blocks inserts into the ledger while it runs); this migration then keeps it.
create index if not exists ledger_entries_transaction on app.ledger_entries (transaction_id);
