-- Per customer: orders, revenue, first and last order.
create or replace view autocorp_analytics.v_customer_lifetime_value as
select
    c.customer_id,
    c.first_name,
    c.last_name,
    c.state,
    count(o.order_id) as orders,
    coalesce(sum(o.total_amount), 0) as lifetime_value,
    min(o.order_date) as first_order_date,
    max(o.order_date) as last_order_date
from autocorp_curated.customers as c
left join autocorp_curated.sales_order_rt as o
    on o.customer_id = c.customer_id
group by c.customer_id, c.first_name, c.last_name, c.state
