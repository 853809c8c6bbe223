"""The ledger at an as-of date: which items are open, by how much, how late.

Every figure of the workspace is read through `items_at`, so an analyst can replay a
past situation: an item is open at D when it was issued by D, not yet paid at D, and
its open amount at D is today's open amount plus what was paid against it after D.
"""

from __future__ import annotations

# Aging buckets of an overdue item by days late; credits are shown apart.
BUCKETS = [
    ("not_due", "Not due"),
    ("d1_30", "1-30 days"),
    ("d31_60", "31-60 days"),
    ("d61_90", "61-90 days"),
    ("d91_plus", "Over 90 days"),
    ("no_due_date", "No due date"),
    ("credits", "Unapplied credits"),
]


def items_at(as_of_param: str = "$as_of") -> str:
    """SQL of the open items at the as-of date bound to `as_of_param`.

    Columns carry the names of the command line's JSON: customer_number,
    customer_name, doc_number, doc_type, issue_date, due_date, days_late, amount,
    open_amount, currency, status, reference, segment (and a few more).
    """
    d = as_of_param
    return f"""
    SELECT * FROM (
      SELECT
        i.item_id, i.customer_number, c.name AS customer_name, i.doc_number,
        i.doc_type, i.issue_date, i.due_date,
        CASE WHEN i.doc_type IN ('credit_note', 'payment') THEN 0
             WHEN i.due_date IS NULL THEN NULL
             ELSE greatest(date_diff('day', i.due_date, {d}::DATE), 0) END
          AS days_late,
        i.amount,
        CASE WHEN i.issue_date > {d}::DATE THEN 0.00
             WHEN i.paid_date <= {d}::DATE THEN 0.00
             ELSE i.open_amount + coalesce(a.paid_after, 0.00)
        END::DECIMAL(18,2) AS open_amount,
        i.currency, i.status, i.reference, c.segment, c.account_manager,
        i.promise_date, i.due_date_problem, i.paid_date
      FROM items i
      LEFT JOIN customers c USING (customer_number)
      LEFT JOIN (
        SELECT item_id, sum(amount) AS paid_after FROM allocations
        WHERE paid_on > {d}::DATE GROUP BY item_id
      ) a USING (item_id)
    ) WHERE open_amount <> 0
    """


def bucket_sql(alias: str = "") -> str:
    """SQL naming the aging bucket of an item of the `items_at` relation."""
    p = f"{alias}." if alias else ""
    return f"""CASE
        WHEN {p}open_amount < 0 THEN 'credits'
        WHEN {p}due_date IS NULL THEN 'no_due_date'
        WHEN {p}days_late = 0 THEN 'not_due'
        WHEN {p}days_late <= 30 THEN 'd1_30'
        WHEN {p}days_late <= 60 THEN 'd31_60'
        WHEN {p}days_late <= 90 THEN 'd61_90'
        ELSE 'd91_plus' END"""


def overdue_sql(alias: str = "") -> str:
    """SQL true for an item owed and past its due date at the as-of date."""
    p = f"{alias}." if alias else ""
    return f"({p}open_amount > 0 AND {p}days_late > 0)"


def contains_pattern(text: str) -> str:
    """An ILIKE pattern (with ESCAPE '\\') matching `text` anywhere, literally:
    a % or _ typed by a user is not a wildcard."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
