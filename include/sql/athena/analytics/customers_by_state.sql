select
    c.state,
    count(*) as customers
from autocorp_curated.customers as c
group by c.state
order by customers desc, c.state
