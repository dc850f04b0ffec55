select
    coalesce(o.payment_method, 'Unknown') as payment_method,
    count(*) as orders,
    round(avg(o.total_amount), 2) as avg_order_value
from autocorp_curated.sales_order_rt as o
group by coalesce(o.payment_method, 'Unknown')
order by payment_method
