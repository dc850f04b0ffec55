"""Invariants of the source database that must hold after `seed` and after `simulate`: each SQL
counts the rows breaking it (0 = holds)."""

from __future__ import annotations

INVARIANTS = {
    "subtotal is the sum of the lines": """
        select count(*) from sales_order o
        where o.subtotal is distinct from
              coalesce((select sum(line_total) from sales_order_parts p where p.order_id = o.order_id), 0)
            + coalesce((select sum(line_total) from sales_order_services s where s.order_id = o.order_id), 0)""",
    "total = subtotal + tax": "select count(*) from sales_order where total_amount <> subtotal + tax",
    "tax is 8.25% of subtotal": "select count(*) from sales_order where tax <> round(subtotal * 0.0825, 2)",
    "every order has a line": """
        select count(*) from sales_order o
        where not exists (select 1 from sales_order_parts p where p.order_id = o.order_id)
          and not exists (select 1 from sales_order_services s where s.order_id = o.order_id)""",
    "order_type matches the lines": """
        select count(*) from sales_order o
        where order_type <> case
            when exists (select 1 from sales_order_parts p where p.order_id = o.order_id)
             and exists (select 1 from sales_order_services s where s.order_id = o.order_id) then 'Mixed'
            when exists (select 1 from sales_order_parts p where p.order_id = o.order_id) then 'Parts'
            else 'Service' end""",
    "part line_total = quantity * unit_price":
        "select count(*) from sales_order_parts where line_total <> quantity * unit_price",
    "part lines reference parts": """
        select count(*) from sales_order_parts l
        where not exists (select 1 from auto_parts p where p.part_id = l.part_id and p.sku = l.sku)""",
    "service_parts reference parts": """
        select count(*) from service_parts sp where not exists (select 1 from auto_parts p where p.sku = sp.sku)""",
    "quantities positive": """
        select (select count(*) from sales_order_parts where quantity <= 0)
             + (select count(*) from sales_order_services where quantity <= 0)""",
    "emails unique": "select count(*) - count(distinct email) from customers",
    "updated_at after created_at": """
        select (select count(*) from sales_order where updated_at < created_at)
             + (select count(*) from customers where updated_at < created_at)
             + (select count(*) from auto_parts where updated_at < created_at)""",
}


def check_invariants(conn) -> None:
    for name, sql in INVARIANTS.items():
        assert conn.execute(sql).fetchone()[0] == 0, name
