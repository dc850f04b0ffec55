-- One row per order with its customer and line totals. sales_order is merge-on-read: the _rt
-- table is its snapshot (latest) view.
create or replace view autocorp_analytics.v_order_facts as
select
    o.order_id,
    o.customer_id,
    c.first_name || ' ' || c.last_name as customer_name,
    c.state as customer_state,
    o.order_date,
    cast(o.order_date as date) as order_day,
    date_format(o.order_date, '%Y-%m') as order_month,
    o.invoice_number,
    o.payment_method,
    o.order_type,
    o.status,
    o.subtotal,
    o.tax,
    o.total_amount,
    coalesce(p.part_lines, 0) as part_lines,
    coalesce(p.parts_total, 0) as parts_total,
    coalesce(s.service_lines, 0) as service_lines,
    coalesce(s.services_total, 0) as services_total
from autocorp_curated.sales_order_rt as o
left join autocorp_curated.customers as c
    on c.customer_id = o.customer_id
left join (
    select order_id, count(*) as part_lines, sum(line_total) as parts_total
    from autocorp_curated.sales_order_parts
    group by order_id
) as p
    on p.order_id = o.order_id
left join (
    select order_id, count(*) as service_lines, sum(line_total) as services_total
    from autocorp_curated.sales_order_services
    group by order_id
) as s
    on s.order_id = o.order_id
