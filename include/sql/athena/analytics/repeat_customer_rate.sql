with orders_per_customer as (
    select o.customer_id, count(*) as orders
    from autocorp_curated.sales_order_rt as o
    group by o.customer_id
)
select
    count(*) as ordering_customers,
    count_if(orders > 1) as repeat_customers,
    round(cast(count_if(orders > 1) as double) / nullif(count(*), 0), 4) as repeat_customer_rate
from orders_per_customer
