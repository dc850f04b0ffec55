"""Change simulator: realistic inserts, updates and deletes on the AutoCorp source database.

Each action is one transaction and keeps every constraint and invariant: foreign keys, unique
emails and invoice numbers, quantity > 0, an order always has at least one line, subtotal equals
the sum of its lines, total = subtotal + tax, order_type matches the kinds of lines it has, and
updated_at is maintained. Totals are recomputed in the same transaction as the line changes.

The report counts only committed work: per action, and per table rows inserted/updated/deleted.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from decimal import Decimal

import psycopg

from autocorp_lake.local import services

TABLES = ["auto_parts", "customers", "service", "service_parts", "sales_order",
          "sales_order_parts", "sales_order_services"]

# action -> weight
ACTIONS = {
    "new_order": 30,
    "order_status_change": 18,
    "part_price_change": 8,
    "customer_edit": 10,
    "new_customer": 8,
    "cancel_order_lines": 8,
    "cancel_order": 6,
    "add_order_line": 7,
    "service_labor_cost_change": 5,
}
STATUS_FLOW = {
    "Pending": ["Processing", "Cancelled"],
    "Processing": ["Shipped", "Completed"],
    "Shipped": ["Completed"],
    "Completed": ["Completed"],
    "Cancelled": ["Cancelled"],
}
PAYMENT_METHODS = ["Credit Card", "Debit Card", "Cash", "Check", "Financing"]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jürgen",
         "Kofi", "Lucía", "Mateo", "Noor", "Oscar", "Priya", "Renée", "Sven", "Thảo", "Yusuf"]
LAST = ["Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ito",
        "Jensen", "Khan", "López", "Müller", "Nguyen", "O'Neil", "Patel", "Quinn", "Rossi",
        "Schröder", "Walker"]
STREETS = ["Main St", "Oak Ave", "Calle Peña", "Elm Rd", "Königsallee", "Maple Dr", "Sunset Blvd"]

RECOMPUTE_SQL = """
with s as (
    select coalesce((select sum(line_total) from sales_order_parts where order_id = %(id)s), 0)
         + coalesce((select sum(line_total) from sales_order_services where order_id = %(id)s), 0) as sub,
           (select count(*) from sales_order_parts where order_id = %(id)s) as np,
           (select count(*) from sales_order_services where order_id = %(id)s) as ns
)
update sales_order o
   set subtotal = s.sub,
       tax = round(s.sub * 0.0825, 2),
       total_amount = s.sub + round(s.sub * 0.0825, 2),
       order_type = case when s.np > 0 and s.ns > 0 then 'Mixed'
                         when s.np > 0 then 'Parts' else 'Service' end,
       updated_at = localtimestamp
  from s
 where o.order_id = %(id)s
"""


class _Skip(Exception):
    """The action has nothing to act on (e.g. an empty table); nothing was changed."""


class _Sim:
    def __init__(self, conn: psycopg.Connection, rng: random.Random):
        self.conn = conn
        self.rng = rng
        self.part_ids = [r[0] for r in conn.execute("select part_id from auto_parts order by part_id")]
        self.service_ids = [r[0] for r in conn.execute("select serviceid from service order by serviceid")]

    # -- helpers ---------------------------------------------------------------------------
    def _random_id(self, table: str, key: str, where: str = "true"):
        low, high = self.conn.execute(f"select min({key}), max({key}) from {table}").fetchone()
        if low is None:
            raise _Skip(table)
        pivot = self.rng.randint(low, high)
        row = self.conn.execute(
            f"select {key} from {table} where {key} >= %s and {where} order by {key} limit 1", (pivot,)
        ).fetchone() or self.conn.execute(
            f"select {key} from {table} where {where} order by {key} limit 1"
        ).fetchone()
        if row is None:
            raise _Skip(table)
        return row[0]

    def _token(self) -> str:
        return f"{self.rng.getrandbits(48):012x}"

    def _email(self, first: str, last: str) -> str:
        import unicodedata

        clean = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        return f"{clean.lower().replace(chr(39), '')}.{self._token()}@example.com"

    def _add_part_lines(self, order_id: int, count: int) -> int:
        chosen = self.rng.sample(self.part_ids, min(count, len(self.part_ids)))
        rows = self.conn.execute(
            "select part_id, sku, name, price from auto_parts where part_id = any(%s)", (chosen,)
        ).fetchall()
        for part_id, sku, name, price in rows:
            qty = self.rng.choice([1, 1, 1, 2, 2, 4])
            self.conn.execute(
                "insert into sales_order_parts (order_id, part_id, sku, part_description, quantity,"
                " unit_price, line_total, created_at) values (%s, %s, %s, %s, %s, %s, %s, localtimestamp)",
                (order_id, part_id, sku, name, qty, price, price * qty),
            )
        return len(rows)

    def _add_service_lines(self, order_id: int, count: int) -> int:
        chosen = self.rng.sample(self.service_ids, min(count, len(self.service_ids)))
        rows = self.conn.execute(
            "select s.serviceid, s.service, s.labor_minutes, s.labor_cost::numeric,"
            " round(coalesce((select sum(p.price * sp.quantity) from service_parts sp"
            "   join auto_parts p on p.sku = sp.sku where sp.serviceid = s.serviceid), 0) * 0.25, 2)"
            " from service s where s.serviceid = any(%s)",
            (chosen,),
        ).fetchall()
        for serviceid, name, minutes, labor, parts_cost in rows:
            qty = 1 if self.rng.random() < 0.9 else 2
            self.conn.execute(
                "insert into sales_order_services (order_id, serviceid, service_description, quantity,"
                " labor_minutes, labor_cost, parts_cost, line_total, vehicle_id, technician_id,"
                " service_status, created_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, localtimestamp)",
                (order_id, serviceid, name, qty, (minutes or 0) * qty, labor, parts_cost,
                 qty * (labor + parts_cost), self.rng.randint(1, 499_999), self.rng.randint(1, 60), "Scheduled"),
            )
        return len(rows)

    def _recompute(self, order_id: int) -> None:
        self.conn.execute(RECOMPUTE_SQL, {"id": order_id})

    # -- actions: each returns {table: (inserted, updated, deleted)} ----------------------
    def new_order(self) -> dict:
        customer_id = self._random_id("customers", "customer_id")
        order_id = self.conn.execute("select nextval(pg_get_serial_sequence('sales_order', 'order_id'))").fetchone()[0]
        kind = self.rng.choices(["Parts", "Service", "Mixed"], weights=[52, 33, 15])[0]
        self.conn.execute(
            "insert into sales_order (order_id, customer_id, order_date, invoice_number, payment_method,"
            " subtotal, tax, total_amount, order_type, status, notes, created_at, updated_at)"
            " values (%s, %s, localtimestamp, %s, %s, 0, 0, 0, %s, 'Pending', null, localtimestamp, localtimestamp)",
            (order_id, customer_id, f"INV-{order_id:08d}",
             self.rng.choice(PAYMENT_METHODS), kind),
        )
        n_parts = self._add_part_lines(order_id, self.rng.randint(1, 4)) if kind != "Service" else 0
        n_svc = self._add_service_lines(order_id, self.rng.randint(1, 2)) if kind != "Parts" else 0
        self._recompute(order_id)
        return {"sales_order": (1, 0, 0), "sales_order_parts": (n_parts, 0, 0),
                "sales_order_services": (n_svc, 0, 0)}

    def order_status_change(self) -> dict:
        order_id = self._random_id("sales_order", "order_id", "status not in ('Completed', 'Cancelled')")
        status = self.conn.execute("select status from sales_order where order_id = %s", (order_id,)).fetchone()[0]
        new = self.rng.choice(STATUS_FLOW.get(status, ["Processing"]))
        self.conn.execute(
            "update sales_order set status = %s, updated_at = localtimestamp where order_id = %s", (new, order_id)
        )
        return {"sales_order": (0, 1, 0)}

    def part_price_change(self) -> dict:
        part_id = self.rng.choice(self.part_ids) if self.part_ids else None
        if part_id is None:
            raise _Skip("auto_parts")
        factor = Decimal(str(round(self.rng.uniform(0.9, 1.15), 4)))
        cur = self.conn.execute(
            "update auto_parts set price = greatest(round(price * %s, 2), 0.01), updated_at = localtimestamp"
            " where part_id = %s", (factor, part_id))
        return {"auto_parts": (0, cur.rowcount, 0)}

    def customer_edit(self) -> dict:
        customer_id = self._random_id("customers", "customer_id")
        first, last = self.conn.execute(
            "select first_name, last_name from customers where customer_id = %s", (customer_id,)).fetchone()
        what = self.rng.choice(["email", "phone", "address"])
        if what == "email":
            sql, value = "email = %s", self._email(first, last)
        elif what == "phone":
            sql, value = "phone = %s", f"({self.rng.randint(201, 989)}) 555-{self.rng.randint(0, 9999):04d}"
        else:
            sql, value = "address = %s", f"{self.rng.randint(1, 9999)} {self.rng.choice(STREETS)}"
        self.conn.execute(
            f"update customers set {sql}, updated_at = localtimestamp where customer_id = %s", (value, customer_id))
        return {"customers": (0, 1, 0)}

    def new_customer(self) -> dict:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        cur = self.conn.execute(
            "insert into customers (first_name, last_name, email, phone, address, city, state, zip_code,"
            " created_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s, %s, localtimestamp, localtimestamp)"
            " on conflict (email) do nothing",
            (first, last, self._email(first, last), f"({self.rng.randint(201, 989)}) 555-{self.rng.randint(0, 9999):04d}",
             f"{self.rng.randint(1, 9999)} {self.rng.choice(STREETS)}", "Austin", "TX", f"787{self.rng.randint(0, 99):02d}"),
        )
        return {"customers": (cur.rowcount, 0, 0)}

    def cancel_order_lines(self) -> dict:
        """Cancel some lines of an order that has several (it keeps at least one)."""
        for _ in range(5):
            order_id = self._random_id("sales_order", "order_id")
            lines = [("sales_order_parts", r[0]) for r in self.conn.execute(
                "select line_item_id from sales_order_parts where order_id = %s", (order_id,))]
            lines += [("sales_order_services", r[0]) for r in self.conn.execute(
                "select line_item_id from sales_order_services where order_id = %s", (order_id,))]
            if len(lines) >= 2:
                break
        else:
            raise _Skip("no order with two lines found")
        doomed = self.rng.sample(lines, self.rng.randint(1, len(lines) - 1))
        deleted = Counter()
        for table, line_id in doomed:
            deleted[table] += self.conn.execute(f"delete from {table} where line_item_id = %s", (line_id,)).rowcount
        self._recompute(order_id)
        return {"sales_order": (0, 1, 0), "sales_order_parts": (0, 0, deleted["sales_order_parts"]),
                "sales_order_services": (0, 0, deleted["sales_order_services"])}

    def cancel_order(self) -> dict:
        """Cancel a whole order: its lines are deleted, then the order."""
        order_id = self._random_id("sales_order", "order_id")
        n_parts = self.conn.execute("delete from sales_order_parts where order_id = %s", (order_id,)).rowcount
        n_svc = self.conn.execute("delete from sales_order_services where order_id = %s", (order_id,)).rowcount
        n_order = self.conn.execute("delete from sales_order where order_id = %s", (order_id,)).rowcount
        return {"sales_order": (0, 0, n_order), "sales_order_parts": (0, 0, n_parts),
                "sales_order_services": (0, 0, n_svc)}

    def add_order_line(self) -> dict:
        order_id = self._random_id("sales_order", "order_id", "status in ('Pending', 'Processing')")
        if self.rng.random() < 0.7:
            added = {"sales_order_parts": (self._add_part_lines(order_id, 1), 0, 0)}
        else:
            added = {"sales_order_services": (self._add_service_lines(order_id, 1), 0, 0)}
        self._recompute(order_id)
        return {"sales_order": (0, 1, 0), **added}

    def service_labor_cost_change(self) -> dict:
        if not self.service_ids:
            raise _Skip("service")
        serviceid = self.rng.choice(self.service_ids)
        factor = Decimal(str(round(self.rng.uniform(0.95, 1.10), 4)))
        cur = self.conn.execute(
            "update service set labor_cost = round(labor_cost::numeric * %s, 2)::money where serviceid = %s",
            (factor, serviceid))
        return {"service": (0, cur.rowcount, 0)}


def simulate(tps: float, seconds: float, seed: int | None = None) -> dict:
    """Apply about `tps` transactions per second for `seconds`; report exactly what was committed."""
    if tps <= 0 or seconds <= 0:
        raise ValueError("--tps and --seconds must be > 0")
    rng = random.Random(seed)
    names, weights = list(ACTIONS), list(ACTIONS.values())
    actions: Counter = Counter()
    table_stats = {t: Counter() for t in TABLES}
    skipped: Counter = Counter()
    failed: Counter = Counter()
    transactions = 0
    target = max(1, round(tps * seconds))
    with services.connect() as conn:
        sim = _Sim(conn, rng)
        start = time.monotonic()
        for i in range(target):
            delay = start + i / tps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif time.monotonic() - start > seconds + 1.0:
                break  # cannot keep up: stop near the requested duration
            action = rng.choices(names, weights=weights)[0]
            try:
                with conn.transaction():
                    changes = getattr(sim, action)()
            except _Skip:
                skipped[action] += 1
                continue
            except psycopg.errors.IntegrityError:
                failed[action] += 1  # rolled back; nothing to count
                continue
            transactions += 1
            actions[action] += 1
            for table, (ins, upd, dele) in changes.items():
                table_stats[table]["inserted"] += ins
                table_stats[table]["updated"] += upd
                table_stats[table]["deleted"] += dele
        elapsed = time.monotonic() - start
    return {
        "actions": [{"action": name, "count": actions[name]} for name in names if actions[name]],
        "transactions": transactions,
        "elapsed_s": round(elapsed, 3),
        "tables": [{"table": t, "inserted": table_stats[t]["inserted"], "updated": table_stats[t]["updated"],
                    "deleted": table_stats[t]["deleted"]} for t in TABLES],
        "skipped": dict(skipped),
        "failed": dict(failed),
    }
