"""AutoCorp source data: the 7-table operational database and the four CSV exports.

Everything is generated with numpy (vectorized) and written with pyarrow, deterministic for a
given seed: a numpy ``Generator`` per stream, and timestamps derived from fixed base dates
(never the clock). Customers are a pure function of (seed, customer_id), so the database's
customers are a sample of the customer export with the same values.

The CSV exports carry known data-quality issues (``DEFAULT_RATES``); ``ISSUE_RULES`` says where
each one lives and what the cleaning job must do with it, and ``data_validation_manifest.json``
records the exact count of each. Bookkeeping rules that make exact reconciliation possible:

* a row carries at most one injected issue; the count of an issue is ``round(rate * rows)`` of the
  file it lives in (for ``zero_quantity``: of both line-item files, split in proportion);
* ``duplicate_order_id`` adds exact copies of clean order rows later in the file (the first
  occurrence wins; the extra copies are the count);
* repairable values (whitespace, thousands separators, currency symbols) repair to the original
  valid value, so a cleaner never rejects them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from autocorp_lake import config

# --------------------------------------------------------------------------------------------
# Injected issues
# --------------------------------------------------------------------------------------------

DEFAULT_RATES: dict[str, float] = {
    "missing_customer_id": 0.007,
    "missing_order_date": 0.0002,
    "missing_tax": 0.001,
    "missing_invoice_number": 0.0005,
    "missing_payment_method": 0.002,
    "missing_subtotal": 0.0003,
    "malformed_date": 0.0008,
    "customer_id_whitespace": 0.001,
    "thousands_separator": 0.0015,
    "currency_symbol": 0.0005,
    "duplicate_order_id": 0.0001,
    "negative_amount": 0.0005,
    "order_date_after_window": 0.001,
    "order_date_before_window": 0.0008,
    "zero_quantity": 0.0003,
}

ORDERS_FILE = "sales_orders.csv"
CUSTOMERS_FILE = "customers.csv"
PARTS_FILE = "sales_order_parts.csv"
SERVICES_FILE = "sales_order_services.csv"
EXPORT_FILES = (CUSTOMERS_FILE, ORDERS_FILE, PARTS_FILE, SERVICES_FILE)
MANIFEST_FILE = "data_validation_manifest.json"
MALFORMED_DATES = ("2024-13-45", "invalid-date")


def _rule(files, column, action, reason):
    files = (files,) if isinstance(files, str) else tuple(files)
    return {"file": files[0] if len(files) == 1 else list(files), "files": files,
            "column": column, "action": action, "reason": reason}


# action: "reject" (reason = the issue name, the reject reason code the cleaner must use),
# "repair" (reason None: the value is repaired and the row kept), "keep_null" (the row is kept
# with a null value and a warning whose code is the issue name).
ISSUE_RULES: dict[str, dict] = {
    "missing_customer_id": _rule(ORDERS_FILE, "customer_id", "reject", "missing_customer_id"),
    "missing_order_date": _rule(ORDERS_FILE, "order_date", "reject", "missing_order_date"),
    "missing_tax": _rule(ORDERS_FILE, "tax", "keep_null", "missing_tax"),
    "missing_invoice_number": _rule(ORDERS_FILE, "invoice_number", "reject", "missing_invoice_number"),
    "missing_payment_method": _rule(ORDERS_FILE, "payment_method", "keep_null", "missing_payment_method"),
    "missing_subtotal": _rule(ORDERS_FILE, "subtotal", "keep_null", "missing_subtotal"),
    "malformed_date": _rule(ORDERS_FILE, "order_date", "reject", "malformed_date"),
    "customer_id_whitespace": _rule(ORDERS_FILE, "customer_id", "repair", None),
    "thousands_separator": _rule(ORDERS_FILE, "total_amount", "repair", None),
    "currency_symbol": _rule(ORDERS_FILE, "total_amount", "repair", None),
    "duplicate_order_id": _rule(ORDERS_FILE, "order_id", "reject", "duplicate_order_id"),
    "negative_amount": _rule(ORDERS_FILE, "total_amount", "reject", "negative_amount"),
    "order_date_after_window": _rule(ORDERS_FILE, "order_date", "reject", "order_date_after_window"),
    "order_date_before_window": _rule(ORDERS_FILE, "order_date", "reject", "order_date_before_window"),
    "zero_quantity": _rule((PARTS_FILE, SERVICES_FILE), "quantity", "reject", "zero_quantity"),
}

# Order-row issues in assignment order (thousands_separator first: it needs totals >= 1,000).
_ORDER_ISSUES = [
    "thousands_separator", "missing_customer_id", "missing_order_date", "missing_tax",
    "missing_invoice_number", "missing_payment_method", "missing_subtotal", "malformed_date",
    "customer_id_whitespace", "currency_symbol", "negative_amount", "order_date_after_window",
    "order_date_before_window",
]


def parse_rate_overrides(items: list[str] | None, multiplier: float = 1.0) -> dict[str, float]:
    """Default rates times `multiplier`, then `ISSUE=RATE` overrides (taken as given)."""
    if multiplier < 0:
        raise config.ConfigError(f"--rate-multiplier must be >= 0, got {multiplier}")
    rates = {name: rate * multiplier for name, rate in DEFAULT_RATES.items()}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise config.ConfigError(f"rate override {item!r} is not ISSUE=RATE (e.g. missing_tax=0.01)")
        if name not in DEFAULT_RATES:
            raise config.ConfigError(
                f"unknown issue {name!r} in rate override {item!r}; valid names: "
                + ", ".join(DEFAULT_RATES)
            )
        try:
            rate = float(value)
        except ValueError as exc:
            raise config.ConfigError(f"rate override {item!r}: {value!r} is not a number") from exc
        if not 0 <= rate <= 1:
            raise config.ConfigError(f"rate override {item!r}: the rate must be between 0 and 1")
        rates[name] = rate
    return rates


# --------------------------------------------------------------------------------------------
# Scales and fixed dates
# --------------------------------------------------------------------------------------------

DEMO_DB_COUNTS = {
    "auto_parts": 400, "customers": 1149, "service": 110, "service_parts": 1074,
    "sales_order": 1000, "sales_order_parts": 2135, "sales_order_services": 644,
}
TABLES = list(DEMO_DB_COUNTS)  # load order: parents first
FULL_CUSTOMERS = 1_200_000
FULL_ORDERS = 791_532
PART_LINES_PER_ORDER = 2135 / 1000
SERVICE_LINES_PER_ORDER = 644 / 1000


def _profile(name: str) -> dict:
    """Row counts of one generated data set (the catalog tables are the same in all)."""
    if name == "demo_db":
        return {"name": name, "master": 12_000, "customers": 1149, "orders": 1000,
                "part_lines": 2135, "service_lines": 644, "stream": 10}
    if name == "demo":
        orders = round(FULL_ORDERS * 0.01)
        return {"name": name, "master": 12_000, "customers": 12_000, "orders": orders,
                "part_lines": round(orders * PART_LINES_PER_ORDER),
                "service_lines": round(orders * SERVICE_LINES_PER_ORDER), "stream": 20}
    if name == "full":
        return {"name": name, "master": FULL_CUSTOMERS, "customers": FULL_CUSTOMERS,
                "orders": FULL_ORDERS, "part_lines": round(FULL_ORDERS * PART_LINES_PER_ORDER),
                "service_lines": round(FULL_ORDERS * SERVICE_LINES_PER_ORDER), "stream": 30}
    raise config.ConfigError(f"unknown scale {name!r}; valid: demo, full")


EPOCH = dt.datetime(1970, 1, 1)
BASE_DATE = dt.datetime(2025, 1, 1, 6, 0, 0)  # "now" of the generated world
CATALOG_START = dt.datetime(2019, 1, 1)
CUSTOMER_START = dt.datetime(2016, 1, 1)


def _secs(value: dt.datetime) -> int:
    return int((value - EPOCH).total_seconds())


def generated_at(seed: int) -> str:
    return (BASE_DATE + dt.timedelta(seconds=int(seed) % 86_400)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy "
    "Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy Jacob Angela "
    "Gary Helen Nicholas Anna Eric Brenda Jonathan Pamela Stephen Nicole Larry Emma Justin "
    "Samantha Scott Katherine Brandon Christine Benjamin Debra Samuel Rachel Gregory Carolyn "
    "Alexander Janet Frank Maria Raymond Olivia Patrick Heather Jack Diane Dennis Julie Jerry "
    "José María Zoë Renée André Chloé Noël Søren Björn Jürgen François Inés Ángel Raúl Joaquín "
    "Łukasz Zoltán Hélène Siobhán Dmitri Aiko Hiroshi Mei Wei Priya Arjun Fatima Omar Chidi "
    "Ngozi Kwame Amara Thảo Minh"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster O'Brien O'Connor Müller "
    "Schröder Núñez Peña Muñoz Ibáñez Gößmann Łukasiewicz Dvořák Nguyễn Trần Lê Østergaard "
    "Kovačević Sørensen Ólafsson Çelik Yılmaz Fernández Jiménez Rodríguez Dubois Lefèvre "
    "Okonkwo Mensah Tanaka Suzuki Chen Wang Singh Kumar"
).split()
STREETS = (
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Sunset Ridge Highland Jefferson "
    "Lincoln Madison Franklin Church Spring Meadow Forest River Valley Chestnut Walnut Willow "
    "Jackson Adams Mill Center Broad Market School Union Prospect Cherry Dogwood Magnolia "
    "Peachtree Bayshore Alameda Camino Rosa Señora Ñandú Sainte-Catherine Peña Blanca "
    "Champs-Élysées Königsallee São João"
).split()
STREET_SUFFIXES = ["St", "Ave", "Blvd", "Rd", "Ln", "Dr", "Way", "Ct", "Pl", "Ter", "Pkwy", "Sq"]
CITIES = [
    ("New York", "NY", 100), ("Los Angeles", "CA", 900), ("Chicago", "IL", 606),
    ("Houston", "TX", 770), ("Phoenix", "AZ", 850), ("Philadelphia", "PA", 191),
    ("San Antonio", "TX", 782), ("San Diego", "CA", 921), ("Dallas", "TX", 752),
    ("San José", "CA", 951), ("Austin", "TX", 787), ("Jacksonville", "FL", 322),
    ("Columbus", "OH", 432), ("Charlotte", "NC", 282), ("Indianapolis", "IN", 462),
    ("Seattle", "WA", 981), ("Denver", "CO", 802), ("Boston", "MA", 21),
    ("Nashville", "TN", 372), ("Detroit", "MI", 482), ("Portland", "OR", 972),
    ("Las Vegas", "NV", 891), ("Memphis", "TN", 381), ("Atlanta", "GA", 303),
    ("Miami", "FL", 331), ("Española", "NM", 875), ("Cañon City", "CO", 812),
    ("Coeur d'Alène", "ID", 838), ("Minneapolis", "MN", 554), ("Tampa", "FL", 336),
    ("Sacramento", "CA", 958), ("Kansas City", "MO", 641), ("Raleigh", "NC", 276),
    ("Omaha", "NE", 681), ("Cleveland", "OH", 441), ("Pittsburgh", "PA", 152),
    ("St. Louis", "MO", 631), ("Salt Lake City", "UT", 841), ("Albuquerque", "NM", 871),
    ("Baltimore", "MD", 212),
]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
                 "aol.com", "proton.me", "example.com", "mail.com", "comcast.net"]
PAYMENT_METHODS = ["Credit Card", "Debit Card", "Cash", "Check", "Financing"]
PAYMENT_WEIGHTS = [0.45, 0.25, 0.15, 0.05, 0.10]
ORDER_TYPES = ["Parts", "Service", "Mixed"]  # _type_code indexes this
ORDER_STATUSES = ["Completed", "Shipped", "Processing", "Pending", "Cancelled"]
STATUS_WEIGHTS = [0.60, 0.15, 0.10, 0.10, 0.05]
SERVICE_LINE_STATUSES = ["Completed", "In Progress", "Scheduled", "Cancelled"]
SERVICE_LINE_STATUS_WEIGHTS = [0.80, 0.08, 0.08, 0.04]
ORDER_NOTES = [
    "Customer requested a call when ready", 'Customer said "ASAP", call first',
    "Loyalty discount applied", "Fleet account, invoice monthly", "Pick-up after 5 pm",
    "Warranty claim, keep old parts", "Rückruf erbeten – Kunde spricht Deutsch",
    "Cliente prefiere español; llamar antes", "Paid in two instalments\nsee ticket 4411",
]
PART_CATEGORIES = {
    "Brakes": ("BRK", ["Brake Pad Set", "Brake Rotor", "Brake Caliper", "Brake Hose", "Brake Drum", "Brake Shoe Set"]),
    "Engine": ("ENG", ["Spark Plug", "Ignition Coil", "Timing Belt", "Water Pump", "Valve Cover Gasket", "Engine Mount"]),
    "Filters": ("FLT", ["Oil Filter", "Air Filter", "Cabin Air Filter", "Fuel Filter", "Transmission Filter"]),
    "Electrical": ("ELC", ["Battery", "Alternator", "Starter Motor", "Headlight Bulb", "Fuse Kit", "Relay"]),
    "Suspension": ("SUS", ["Shock Absorber", "Strut Assembly", "Control Arm", "Ball Joint", "Tie Rod End", "Sway Bar Link"]),
    "Cooling": ("COL", ["Radiator", "Thermostat", "Radiator Hose", "Cooling Fan", "Coolant Reservoir"]),
    "Exhaust": ("EXH", ["Muffler", "Catalytic Converter", "Oxygen Sensor", "Exhaust Pipe", "EGR Valve"]),
    "Transmission": ("TRN", ["Clutch Kit", "CV Axle", "Transmission Mount", "Flywheel", "Shift Cable"]),
    "HVAC": ("HVC", ["AC Compressor", "Blower Motor", "Condenser", "Heater Core", "Expansion Valve"]),
    "Tires & Wheels": ("TIR", ["All-Season Tire", "Winter Tire", "Wheel Bearing", "Lug Nut Set", "TPMS Sensor"]),
    "Fluids": ("FLD", ["Synthetic Motor Oil 5W-30", "Brake Fluid DOT 4", "Coolant 50/50", "ATF", "Power Steering Fluid"]),
}
PART_BRANDS = ["Bosch", "ACDelco", "Denso", "Motorcraft", "Mopar", "Brembo", "Monroe", "NGK",
               "Gates", "Moog", "Valeo", "Mahle", "Febi Bilstein", "Aisin", "Akebono", "Škoda OE",
               "Löwe", "Peña Auto"]
SERVICE_CATEGORIES = {
    "Engine & Powertrain": ["Engine Diagnostic", "Timing Belt Replacement", "Spark Plug Replacement",
                            "Engine Tune-Up", "Head Gasket Repair"],
    "Transmission & Drivetrain": ["Transmission Fluid Service", "Clutch Replacement", "CV Axle Replacement",
                                  "Differential Service", "Transfer Case Service"],
    "Tires & Wheels": ["Tire Rotation", "Wheel Alignment", "Tire Mount & Balance", "Wheel Bearing Replacement",
                       "TPMS Sensor Service"],
    "Brakes": ["Brake Pad Replacement", "Rotor Resurfacing", "Brake Fluid Flush", "Caliper Replacement",
               "ABS Diagnostic"],
    "Cooling System": ["Coolant Flush", "Radiator Replacement", "Thermostat Replacement", "Water Pump Replacement",
                       "Cooling Fan Repair"],
    "Electrical System": ["Battery Replacement", "Alternator Replacement", "Starter Replacement",
                          "Electrical Diagnostic", "Lighting Repair"],
    "HVAC": ["AC Recharge", "AC Compressor Replacement", "Heater Core Replacement", "Blower Motor Repair",
             "Cabin Filter Replacement"],
    "Suspension & Steering": ["Shock & Strut Replacement", "Control Arm Replacement", "Power Steering Service",
                              "Tie Rod Replacement", "Ball Joint Replacement"],
    "General Preventive Maintenance": ["Multi-Point Inspection", "30K Mile Service", "60K Mile Service",
                                       "Pre-Trip Inspection", "State Safety Inspection"],
    "Exhaust & Emissions": ["Emissions Test", "Muffler Replacement", "Catalytic Converter Replacement",
                            "O2 Sensor Replacement", "EGR Valve Cleaning"],
    "Fluids & Filters": ["Oil Change", "Synthetic Oil Change", "Air Filter Replacement", "Fuel System Cleaning",
                         "Power Steering Flush"],
}
SERVICE_LEVELS = ["Standard", "Premium"]
LABOR_RATE_CENTS_PER_HOUR = 12_000


def _ascii(text: str) -> str:
    table = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "ł": "l", "Ł": "L", "ı": "i", "'": ""})
    text = text.translate(table)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# --------------------------------------------------------------------------------------------
# Vectorized helpers
# --------------------------------------------------------------------------------------------

def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(stream)])


def _hash(ids: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """splitmix64 of (seed, salt, id): a per-id random number independent of the data size."""
    with np.errstate(over="ignore"):
        x = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((int(seed) * 1_000_003 + int(salt) * 7919) & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def _pick(words, index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(words), pa.string()), pa.array(index.astype(np.int64)))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _istr(values: np.ndarray, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(values.astype(np.int64)), pa.string())
    return pc.utf8_lpad(out, width=width, padding="0") if width else out


def _money(cents: np.ndarray) -> pa.Array:
    """Cents -> '123.45' (with '-' when negative)."""
    cents = np.asarray(cents, dtype=np.int64)
    absolute = np.abs(cents)
    text = _join(_istr(absolute // 100), _istr(absolute % 100, 2), sep=".")
    if (cents < 0).any():
        text = pc.if_else(pa.array(cents < 0), _join("-", text), text)
    return text


def _money_py(cents: int, thousands: bool = False, symbol: str = "") -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    whole_text = f"{whole:,}" if thousands else str(whole)
    return f"{sign}{symbol}{whole_text}.{frac:02d}"


def _ts(seconds: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s")), pa.string())


def _weighted(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


# --------------------------------------------------------------------------------------------
# The data set
# --------------------------------------------------------------------------------------------

def build_catalog(seed: int) -> dict:
    """auto_parts (400), service (110) and service_parts (1,074): the same at every scale."""
    rng = _rng(seed, 1)
    n_parts = DEMO_DB_COUNTS["auto_parts"]
    cats = list(PART_CATEGORIES)
    cat_idx = np.arange(n_parts) % len(cats)
    rng.shuffle(cat_idx)
    names, skus, categories = [], [], []
    counters: dict[str, int] = {}
    brand_idx = rng.integers(0, len(PART_BRANDS), n_parts)
    item_pick = rng.integers(0, 1000, n_parts)
    for i in range(n_parts):
        cat = cats[cat_idx[i]]
        code, items = PART_CATEGORIES[cat]
        counters[code] = counters.get(code, 0) + 1
        item = items[item_pick[i] % len(items)]
        names.append(f"{PART_BRANDS[brand_idx[i]]} {item} #{counters[code]}")
        skus.append(f"{code}-{10000 + i * 7 + counters[code]:05d}")
        categories.append(cat)
    price = np.maximum(299, np.round(rng.lognormal(np.log(4500), 0.9, n_parts))).astype(np.int64)
    price = np.minimum(price, 150_000)
    created = _secs(CATALOG_START) + rng.integers(0, 365 * 86_400 * 3, n_parts)
    updated = created + rng.integers(0, 365 * 86_400, n_parts)
    parts = {
        "part_id": np.arange(1, n_parts + 1), "sku": skus, "name": names, "category": categories,
        "price": price, "created_at": created, "updated_at": updated,
    }

    serviceids, svc_names, svc_cats = [], [], []
    for c, (cat, base_names) in enumerate(SERVICE_CATEGORIES.items()):
        for b, base in enumerate(base_names):
            for level in SERVICE_LEVELS:
                serviceids.append(f"SVC-{c + 1:02d}{b * 2 + SERVICE_LEVELS.index(level) + 1:02d}")
                svc_names.append(f"{base} ({level})")
                svc_cats.append(cat)
    n_svc = len(serviceids)
    assert n_svc == DEMO_DB_COUNTS["service"]
    minutes = (rng.integers(1, 17, n_svc) * 15).astype(np.int64)
    premium = np.array([name.endswith("(Premium)") for name in svc_names])
    minutes = np.where(premium, minutes + 30, minutes)
    labor_cost = minutes * LABOR_RATE_CENTS_PER_HOUR // 60
    service = {"serviceid": serviceids, "service": svc_names, "category": svc_cats,
               "labor_minutes": minutes, "labor_cost": labor_cost}

    # ~9.8 parts per service: 1,074 links, unique (serviceid, sku)
    n_links = DEMO_DB_COUNTS["service_parts"]
    per_service = np.full(n_svc, n_links // n_svc)
    per_service[rng.choice(n_svc, n_links - per_service.sum(), replace=False)] += 1
    sp_service, sp_sku, sp_part = [], [], []
    for s in range(n_svc):
        chosen = np.sort(rng.choice(n_parts, per_service[s], replace=False))
        sp_service.extend([serviceids[s]] * len(chosen))
        sp_part.extend(chosen.tolist())
        sp_sku.extend(skus[p] for p in chosen)
    sp_part = np.array(sp_part)
    sp_qty = _weighted(rng, n_links, [0.7, 0.15, 0.05, 0.1]) + 1
    sp_created = _secs(CATALOG_START) + 365 * 86_400 * 3 + rng.integers(0, 365 * 86_400, n_links)
    service_parts = {
        "service_part_id": np.arange(1, n_links + 1), "serviceid": sp_service, "sku": sp_sku,
        "quantity": sp_qty, "created_at": sp_created,
    }
    # parts cost of one service job: a share of the linked parts' list prices
    link_cost = price[sp_part] * sp_qty
    svc_index = {sid: i for i, sid in enumerate(serviceids)}
    svc_of_link = np.array([svc_index[s] for s in sp_service])
    svc_parts_cost = (np.bincount(svc_of_link, weights=link_cost, minlength=n_svc) * 0.25).round().astype(np.int64)
    return {"auto_parts": parts, "service": service, "service_parts": service_parts,
            "service_parts_cost": svc_parts_cost}


def build_customers(ids: np.ndarray, seed: int) -> dict:
    """Customers as a pure function of (seed, customer_id)."""
    ids = np.asarray(ids, dtype=np.int64)
    h = [_hash(ids, seed, salt) for salt in range(1, 10)]
    fi = (h[0] % np.uint64(len(FIRST_NAMES))).astype(np.int64)
    li = (h[1] % np.uint64(len(LAST_NAMES))).astype(np.int64)
    first = _pick(FIRST_NAMES, fi)
    last = _pick(LAST_NAMES, li)
    first_a = pc.utf8_lower(_pick([_ascii(n) for n in FIRST_NAMES], fi))
    last_a = pc.utf8_lower(_pick([_ascii(n) for n in LAST_NAMES], li))
    domain = _pick(EMAIL_DOMAINS, (h[2] % np.uint64(len(EMAIL_DOMAINS))).astype(np.int64))
    email = _join(first_a, ".", last_a, _istr(ids), "@", domain)
    area = 201 + (h[3] % np.uint64(780)).astype(np.int64)
    line = (h[3] >> np.uint64(20)) % np.uint64(10_000)
    phone = _join("(", _istr(area), ") 555-", _istr(line.astype(np.int64), 4))
    number = 1 + (h[4] % np.uint64(9_899)).astype(np.int64)
    street = _pick(STREETS, (h[5] % np.uint64(len(STREETS))).astype(np.int64))
    suffix = _pick(STREET_SUFFIXES, ((h[5] >> np.uint64(32)) % np.uint64(len(STREET_SUFFIXES))).astype(np.int64))
    address = _join(_istr(number), " ", street, " ", suffix)
    ci = (h[6] % np.uint64(len(CITIES))).astype(np.int64)
    city = _pick([c[0] for c in CITIES], ci)
    state = _pick([c[1] for c in CITIES], ci)
    zip_prefix = np.array([c[2] for c in CITIES])[ci]
    zip_code = _join(_istr(zip_prefix, 3), _istr(((h[6] >> np.uint64(32)) % np.uint64(100)).astype(np.int64), 2))
    span = _secs(BASE_DATE) - _secs(CUSTOMER_START) - 400 * 86_400
    created = _secs(CUSTOMER_START) + (h[7] % np.uint64(span)).astype(np.int64)
    updated = created + (h[8] % np.uint64(365 * 86_400)).astype(np.int64)
    return {
        "customer_id": ids, "first_name": first, "last_name": last, "email": email,
        "phone": phone, "address": address, "city": city, "state": state, "zip_code": zip_code,
        "created_at": created, "updated_at": updated,
    }


def build_orders(profile: dict, seed: int, catalog: dict, customer_ids: np.ndarray) -> dict:
    """sales_order and its line items with exact counts and consistent totals (money in cents)."""
    rng = _rng(seed, profile["stream"])
    n, n_pl, n_sl = profile["orders"], profile["part_lines"], profile["service_lines"]
    start, end = config.order_window()
    n_parts_only = round(n * 0.52)
    n_service_only = round(n * 0.33)
    order_type = np.concatenate([
        np.zeros(n_parts_only, np.int64), np.ones(n_service_only, np.int64),
        np.full(n - n_parts_only - n_service_only, 2, np.int64)])
    rng.shuffle(order_type)
    has_p, has_s = order_type != 1, order_type != 0
    n_p, n_s = int(has_p.sum()), int(has_s.sum())
    if n_pl < n_p or n_sl < n_s:
        raise ValueError("not enough line items for every order to have one")
    p_count = np.zeros(n, np.int64)
    s_count = np.zeros(n, np.int64)
    p_count[has_p] = 1 + np.bincount(rng.integers(0, n_p, n_pl - n_p), minlength=n_p)
    s_count[has_s] = 1 + np.bincount(rng.integers(0, n_s, n_sl - n_s), minlength=n_s)

    order_ids = np.arange(1, n + 1, dtype=np.int64)
    w_start = _secs(dt.datetime.combine(start, dt.time()))
    w_end = _secs(dt.datetime.combine(end, dt.time())) + 86_400
    order_date = rng.integers(w_start, w_end, n)
    created = order_date + rng.integers(0, 3_600, n)
    updated = created + rng.integers(0, 7 * 86_400, n)
    customer = np.asarray(customer_ids, np.int64)[rng.integers(0, len(customer_ids), n)]
    payment = _weighted(rng, n, PAYMENT_WEIGHTS)
    status = _weighted(rng, n, STATUS_WEIGHTS)
    notes_idx = np.where(rng.random(n) < 0.12, rng.integers(0, len(ORDER_NOTES), n), -1)

    parts, service = catalog["auto_parts"], catalog["service"]
    # part lines
    pl_order = np.repeat(np.arange(n), p_count)
    n_parts = len(parts["part_id"])
    popularity = 1.0 / np.arange(1, n_parts + 1) ** 0.6
    pl_part = rng.permutation(n_parts)[_weighted(rng, n_pl, popularity)]
    pl_qty = np.array([1, 2, 3, 4, 6])[_weighted(rng, n_pl, [0.55, 0.2, 0.1, 0.1, 0.05])]
    pl_price = parts["price"][pl_part]
    pl_total = pl_qty * pl_price
    # service lines
    sl_order = np.repeat(np.arange(n), s_count)
    n_svc = len(service["serviceid"])
    sl_svc = rng.integers(0, n_svc, n_sl)
    sl_qty = np.where(rng.random(n_sl) < 0.92, 1, 2)
    sl_minutes = service["labor_minutes"][sl_svc] * sl_qty
    sl_labor = service["labor_cost"][sl_svc]
    sl_parts_cost = catalog["service_parts_cost"][sl_svc]
    sl_total = sl_qty * (sl_labor + sl_parts_cost)

    subtotal = (np.bincount(pl_order, weights=pl_total, minlength=n)
                + np.bincount(sl_order, weights=sl_total, minlength=n)).round().astype(np.int64)
    tax = (subtotal * 825 + 5_000) // 10_000
    total = subtotal + tax

    order = {
        "order_id": order_ids, "customer_id": customer, "order_date": order_date,
        "invoice_number": _join("INV-", _istr(order_ids, 8)),
        "payment_method": _pick(PAYMENT_METHODS, payment),
        "subtotal": subtotal, "tax": tax, "total_amount": total,
        "order_type": _pick(ORDER_TYPES, order_type),
        "status": _pick(ORDER_STATUSES, status),
        "notes": pc.take(pa.array(ORDER_NOTES + [None], pa.string()), pa.array(notes_idx % (len(ORDER_NOTES) + 1))),
        "created_at": created, "updated_at": updated,
        "_type_code": order_type,
    }
    order_parts = {
        "line_item_id": np.arange(1, n_pl + 1), "order_id": order_ids[pl_order],
        "part_id": parts["part_id"][pl_part], "sku": _pick(parts["sku"], pl_part),
        "part_description": _pick(parts["name"], pl_part), "quantity": pl_qty,
        "unit_price": pl_price, "line_total": pl_total, "created_at": created[pl_order],
        "_order_index": pl_order,
    }
    order_services = {
        "line_item_id": np.arange(1, n_sl + 1), "order_id": order_ids[sl_order],
        "serviceid": _pick(service["serviceid"], sl_svc),
        "service_description": _pick(service["service"], sl_svc), "quantity": sl_qty,
        "labor_minutes": sl_minutes, "labor_cost": sl_labor, "parts_cost": sl_parts_cost,
        "line_total": sl_total, "vehicle_id": rng.integers(1, 500_000, n_sl),
        "technician_id": rng.integers(1, 61, n_sl),
        "service_status": _pick(SERVICE_LINE_STATUSES, _weighted(rng, n_sl, SERVICE_LINE_STATUS_WEIGHTS)),
        "created_at": created[sl_order], "_order_index": sl_order,
    }
    return {"sales_order": order, "sales_order_parts": order_parts, "sales_order_services": order_services}


# Column kinds: how a column is rendered as text.
MONEY_COLUMNS = {"price", "labor_cost", "subtotal", "tax", "total_amount", "unit_price",
                 "line_total", "parts_cost"}
TIME_COLUMNS = {"created_at", "updated_at", "order_date"}
COLUMNS = {
    "auto_parts": ["part_id", "sku", "name", "category", "price", "created_at", "updated_at"],
    "customers": ["customer_id", "first_name", "last_name", "email", "phone", "address", "city",
                  "state", "zip_code", "created_at", "updated_at"],
    "service": ["serviceid", "service", "category", "labor_minutes", "labor_cost"],
    "service_parts": ["service_part_id", "serviceid", "sku", "quantity", "created_at"],
    "sales_order": ["order_id", "customer_id", "order_date", "invoice_number", "payment_method",
                    "subtotal", "tax", "total_amount", "order_type", "status", "notes",
                    "created_at", "updated_at"],
    "sales_order_parts": ["line_item_id", "order_id", "part_id", "sku", "part_description",
                          "quantity", "unit_price", "line_total", "created_at"],
    "sales_order_services": ["line_item_id", "order_id", "serviceid", "service_description",
                             "quantity", "labor_minutes", "labor_cost", "parts_cost", "line_total",
                             "vehicle_id", "technician_id", "service_status", "created_at"],
}


def _render(column: str, values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, list):
        return pa.array(values, pa.string())
    if column in MONEY_COLUMNS:
        return _money(values)
    if column in TIME_COLUMNS:
        return _ts(values)
    return pa.array(np.asarray(values, dtype=np.int64))


def to_table(name: str, data: dict) -> pa.Table:
    return pa.table({c: _render(c, data[c]) for c in COLUMNS[name]})


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------

@contextmanager
def _progress(enabled: bool, total: int, title: str) -> Iterator:
    """Yields step(description): a rich progress bar over `total` steps (or a no-op)."""
    if not enabled:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=False)
    with progress:
        task = progress.add_task(title, total=total)
        state = {"started": False}

        def step(description: str) -> None:
            if state["started"]:
                progress.advance(task)
            state["started"] = True
            progress.update(task, description=f"{title}: {description}")

        yield step
        progress.update(task, completed=total, description=f"{title}: done")


# --------------------------------------------------------------------------------------------
# CSV exports with injected issues
# --------------------------------------------------------------------------------------------

def _write_atomically(path: Path, write: Callable[[Path], object]) -> int:
    """`write(temporary path)`, then rename it to `path`, so a reader never sees half a file.

    Returns the size of the file written.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path.stat().st_size


def _write_csv(table: pa.Table, path: Path) -> int:
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    return _write_atomically(path, lambda tmp: pacsv.write_csv(table, tmp, write_options=options))


def replace_column(table: pa.Table, name: str, values) -> pa.Table:
    """`table` with its column `name` replaced by `values`, in the same place."""
    index = table.schema.get_field_index(name)
    if index < 0:
        raise KeyError(f"no column {name!r} in {table.column_names}")
    return table.set_column(index, name, values)


def _text_values(table: pa.Table, name: str) -> np.ndarray:
    """The column `name` as text, in an object array whose single values can be rewritten."""
    return pc.cast(table[name], pa.string()).to_numpy(zero_copy_only=False).astype(object)


def _replace_text_column(table: pa.Table, name: str, values: np.ndarray) -> pa.Table:
    return replace_column(table, name, pa.array(values, pa.string()))


def _complete_rates(rates: dict | None) -> dict[str, float]:
    """The rate of every issue: the defaults when `rates` is None, else `rates` with 0 for the rest."""
    rates = dict(DEFAULT_RATES if rates is None else rates)
    unknown = set(rates) - set(DEFAULT_RATES)
    if unknown:
        raise config.ConfigError(f"unknown issue(s) {sorted(unknown)}; valid names: {', '.join(DEFAULT_RATES)}")
    for issue in DEFAULT_RATES:
        rates.setdefault(issue, 0.0)
    return rates


def _issue_counts(rates: dict, n_orders: int, n_pl: int, n_sl: int) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for issue in DEFAULT_RATES:
        rate = float(rates.get(issue, 0.0))
        if issue == "zero_quantity":
            total = round(rate * (n_pl + n_sl))
            in_parts = round(total * n_pl / (n_pl + n_sl)) if n_pl + n_sl else 0
            counts[issue] = {PARTS_FILE: in_parts, SERVICES_FILE: total - in_parts}
        else:
            counts[issue] = {ORDERS_FILE: round(rate * n_orders)}
    return counts


def _assign_order_issues(counts: dict, total: np.ndarray, rng: np.random.Generator
                         ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The order rows of each issue in `_ORDER_ISSUES` (at most one issue a row) and the rows
    to duplicate, all ascending."""
    n = len(total)
    n_dup = counts["duplicate_order_id"][ORDERS_FILE]
    needed = sum(counts[i][ORDERS_FILE] for i in _ORDER_ISSUES) + n_dup
    perm = rng.permutation(n)
    if needed > n:
        raise config.ConfigError(f"the rates ask for {needed} bad order rows but there are only {n} orders; lower the rates")
    order_issue = np.full(n, -1, np.int64)  # index into _ORDER_ISSUES
    for k, issue in enumerate(_ORDER_ISSUES):
        count = counts[issue][ORDERS_FILE]
        if not count:
            continue
        free = perm[order_issue[perm] == -1]
        if issue == "thousands_separator":
            free = free[total[free] >= 100_000]
        if len(free) < count:
            raise config.ConfigError(f"{issue}: only {len(free)} eligible order rows for {count} injected values; lower its rate")
        order_issue[free[:count]] = k
    free = perm[order_issue[perm] == -1]
    duplicated = np.sort(free[len(free) - n_dup:]) if n_dup else np.zeros(0, np.int64)
    rows = {issue: np.flatnonzero(order_issue == k) for k, issue in enumerate(_ORDER_ISSUES)}
    return rows, duplicated


WHITESPACE_PADDINGS = (" {}", "{} ", " {}  ", "\t{}")


def _pad_customer_ids(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """customer_id_whitespace: whitespace around the id (and the column becomes text)."""
    ids = _text_values(table, "customer_id")
    for j, r in enumerate(rows):
        ids[r] = WHITESPACE_PADDINGS[j % len(WHITESPACE_PADDINGS)].format(ids[r])
    return _replace_text_column(table, "customer_id", ids)


def _misdate_orders(table: pa.Table, rows: dict[str, np.ndarray], window: tuple[dt.date, dt.date],
                    rng: np.random.Generator) -> pa.Table:
    """order_date: malformed values, and dates up to 180 days after or a year before the window."""
    dates = _text_values(table, "order_date")
    for j, r in enumerate(rows["malformed_date"]):
        dates[r] = MALFORMED_DATES[j % len(MALFORMED_DATES)]
    first_day = dt.datetime.combine(window[0], dt.time())
    day_after = dt.datetime.combine(window[1], dt.time()) + dt.timedelta(days=1)
    after = rows["order_date_after_window"]
    for r, offset in zip(after, rng.integers(0, 180 * 86_400, len(after))):
        dates[r] = (day_after + dt.timedelta(seconds=int(offset))).strftime("%Y-%m-%d %H:%M:%S")
    before = rows["order_date_before_window"]
    for r, offset in zip(before, rng.integers(1, 365 * 86_400, len(before))):
        dates[r] = (first_day - dt.timedelta(seconds=int(offset))).strftime("%Y-%m-%d %H:%M:%S")
    return _replace_text_column(table, "order_date", dates)


def _misformat_totals(table: pa.Table, cents: np.ndarray, rows: dict[str, np.ndarray]) -> pa.Table:
    """total_amount: thousands separators and currency symbols (both repairable), negative amounts."""
    totals = _text_values(table, "total_amount")
    for r in rows["thousands_separator"]:
        totals[r] = _money_py(cents[r], thousands=True)
    for r in rows["currency_symbol"]:
        totals[r] = _money_py(cents[r], symbol="$")
    for r in rows["negative_amount"]:
        totals[r] = _money_py(-cents[r])
    return _replace_text_column(table, "total_amount", totals)


def _blank_missing_values(table: pa.Table, rows: dict[str, np.ndarray]) -> pa.Table:
    """The missing_* issues: a null in the column the issue's rule names."""
    for issue, issue_rows in rows.items():
        if issue.startswith("missing_") and len(issue_rows):
            column = ISSUE_RULES[issue]["column"]
            mask = np.zeros(table.num_rows, bool)
            mask[issue_rows] = True
            null = pa.scalar(None, table.schema.field(column).type)
            table = replace_column(table, column, pc.if_else(pa.array(mask), null, table[column]))
    return table


def _insert_duplicates(table: pa.Table, sources: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """duplicate_order_id: an exact copy of each `sources` row, up to 500 rows after the original."""
    if not len(sources):
        return table
    n = table.num_rows
    copy_position = (np.minimum(sources + 1 + rng.integers(0, 500, len(sources)), n) - 0.5
                     + rng.random(len(sources)) * 0.4)
    position = np.concatenate([np.arange(n, dtype=float), copy_position])
    source = np.concatenate([np.arange(n), sources])
    return table.take(pa.array(source[np.argsort(position, kind="stable")]))


def _orders_with_issues(orders: dict, rows: dict[str, np.ndarray], duplicated: np.ndarray,
                        window: tuple[dt.date, dt.date], rng: np.random.Generator) -> pa.Table:
    """The sales_orders.csv table: every order-row issue injected."""
    table = to_table("sales_order", orders)
    table = _pad_customer_ids(table, rows["customer_id_whitespace"])
    table = _misdate_orders(table, rows, window, rng)
    table = _misformat_totals(table, orders["total_amount"], rows)
    table = _blank_missing_values(table, rows)
    return _insert_duplicates(table, duplicated, rng)


def _lines_with_zero_quantities(table_name: str, lines: dict, count: int, rng: np.random.Generator
                                ) -> tuple[pa.Table, np.ndarray]:
    """zero_quantity: `count` random lines get quantity and line_total 0. Returns the table and those rows."""
    rows = np.sort(rng.choice(len(lines["line_item_id"]), count, replace=False)) if count else np.zeros(0, np.int64)
    lines = dict(lines)
    for column in ("quantity", "line_total"):
        lines[column] = lines[column].copy()
        lines[column][rows] = 0
    return to_table(table_name, lines), rows


def _rejected_orders(n: int, rows: dict[str, np.ndarray]) -> np.ndarray:
    """Which of the `n` order rows (duplicates aside) a cleaner rejects."""
    rejected = np.zeros(n, bool)
    for issue, issue_rows in rows.items():
        if ISSUE_RULES[issue]["action"] == "reject":
            rejected[issue_rows] = True
    return rejected


def _expected_order_rows(raw_rows: int, type_code: np.ndarray, rejected: np.ndarray,
                         duplicated: np.ndarray, counts: dict) -> dict:
    accepted = ~rejected
    by_type = {}
    for k, type_name in enumerate(ORDER_TYPES):
        is_type = type_code == k
        by_type[type_name] = {
            "raw_rows": int(is_type.sum() + (type_code[duplicated] == k).sum()),
            "accepted_rows": int((is_type & accepted).sum()),
        }
    return {
        "raw_rows": raw_rows, "accepted_rows": int(accepted.sum()),
        "rejected_by_reason": {i: counts[i][ORDERS_FILE] for i in DEFAULT_RATES
                               if i != "zero_quantity" and ISSUE_RULES[i]["action"] == "reject"},
        "by_order_type": by_type,
    }


def _expected_line_rows(raw_rows: int, zero_rows: np.ndarray, order_index: np.ndarray,
                        rejected_order: np.ndarray) -> dict:
    ok = np.ones(raw_rows, bool)
    ok[zero_rows] = False
    return {
        "raw_rows": raw_rows, "accepted_rows": int(ok.sum()), "rejected_by_reason": {"zero_quantity": len(zero_rows)},
        # lines whose order row is rejected (a cleaner enforcing the order FK drops these too)
        "lines_of_rejected_orders": int((ok & rejected_order[order_index]).sum()),
    }


def _revenue(cents: np.ndarray, accepted: np.ndarray) -> dict:
    clean_totals = cents[accepted] / 100.0
    return {
        "orders": int(accepted.sum()),
        "sum": round(int(cents[accepted].sum()) / 100.0, 2),
        "mean": round(float(clean_totals.mean()), 2) if len(clean_totals) else None,
        "min": round(float(clean_totals.min()), 2) if len(clean_totals) else None,
        "max": round(float(clean_totals.max()), 2) if len(clean_totals) else None,
        "note": "total_amount over the orders accepted after cleaning (repaired values at their true amount)",
    }


def _injected_issues(counts: dict, rates: dict) -> dict:
    injected = {}
    for issue, rule in ISSUE_RULES.items():
        by_file = counts[issue]
        injected[issue] = {
            "count": int(sum(by_file.values())), "file": rule["file"], "column": rule["column"],
            "action": rule["action"], "reason": rule["reason"], "rate": rates[issue],
            "counts_by_file": by_file,
        }
    return injected


def write_exports(out_dir=None, scale: str = "demo", seed: int = 42, rates: dict | None = None,
                  progress: bool = False) -> dict:
    """Write the four CSV exports with injected issues and the manifest; return the manifest.

    Files are written under temporary names and renamed, the manifest last.
    """
    out = Path(out_dir) if out_dir else config.export_dir()
    out.mkdir(parents=True, exist_ok=True)
    rates = _complete_rates(rates)
    profile = _profile(scale)
    window = config.order_window()

    with _progress(progress, 4 + len(EXPORT_FILES), f"exports ({scale})") as step:
        step("catalog")
        catalog = build_catalog(seed)
        step("customers")
        customers = build_customers(np.arange(1, profile["master"] + 1), seed)
        step("orders and line items")
        data = build_orders(profile, seed, catalog, np.arange(1, profile["master"] + 1))
        orders = data["sales_order"]
        line_items = {PARTS_FILE: "sales_order_parts", SERVICES_FILE: "sales_order_services"}

        step("injecting issues")
        n = len(orders["order_id"])
        counts = _issue_counts(rates, n, *(len(data[name]["line_item_id"]) for name in line_items.values()))
        # One stream for every injection: its draws (and so the files) depend on the steps' order.
        rng = _rng(seed, 99)
        rows, duplicated = _assign_order_issues(counts, orders["total_amount"], rng)
        tables = {CUSTOMERS_FILE: to_table("customers", customers),
                  ORDERS_FILE: _orders_with_issues(orders, rows, duplicated, window, rng)}
        zero_rows = {}
        for fname, table_name in line_items.items():
            tables[fname], zero_rows[fname] = _lines_with_zero_quantities(
                table_name, data[table_name], counts["zero_quantity"][fname], rng)

        sizes = {}
        for fname in EXPORT_FILES:
            step(fname)
            sizes[fname] = _write_csv(tables[fname], out / fname)

    rejected = _rejected_orders(n, rows)
    customer_rows = tables[CUSTOMERS_FILE].num_rows
    expected = {
        CUSTOMERS_FILE: {"raw_rows": customer_rows, "accepted_rows": customer_rows, "rejected_by_reason": {}},
        ORDERS_FILE: _expected_order_rows(tables[ORDERS_FILE].num_rows, orders["_type_code"], rejected,
                                          duplicated, counts),
    }
    for fname, table_name in line_items.items():
        expected[fname] = _expected_line_rows(tables[fname].num_rows, zero_rows[fname],
                                              data[table_name]["_order_index"], rejected)
    manifest = {
        "generated_at": generated_at(seed),
        "generator": "autocorp_lake.local.generator",
        "config": {
            "scale": scale, "seed": seed, "rates": {k: rates[k] for k in DEFAULT_RATES},
            "ORDER_DATE_START": window[0].isoformat(), "ORDER_DATE_END": window[1].isoformat(),
            "malformed_date_values": list(MALFORMED_DATES),
        },
        "injected_issues": _injected_issues(counts, rates),
        "expected_rows": expected,
        "revenue": _revenue(orders["total_amount"], ~rejected),
        "files": {f: {"path": str(out / f), "rows": tables[f].num_rows, "bytes": sizes[f]} for f in EXPORT_FILES},
    }
    manifest_path = out / MANIFEST_FILE
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    _write_atomically(manifest_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    manifest["manifest_path"] = str(manifest_path)
    return manifest


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------

SERIAL_KEYS = {
    "auto_parts": "part_id", "customers": "customer_id", "service_parts": "service_part_id",
    "sales_order": "order_id", "sales_order_parts": "line_item_id", "sales_order_services": "line_item_id",
}
PRIMARY_KEYS = {**SERIAL_KEYS, "service": "serviceid"}


def build_database(db_scale: str, seed: int) -> dict[str, pa.Table]:
    """The 7 tables (clean data) for the database at `db_scale` (demo: exactly the demo counts)."""
    catalog = build_catalog(seed)
    if db_scale == "demo":
        profile = _profile("demo_db")
        rng = _rng(seed, 2)
        ids = np.sort(rng.choice(np.arange(1, profile["master"] + 1), profile["customers"], replace=False))
    elif db_scale == "full":
        profile = _profile("full")
        ids = np.arange(1, profile["master"] + 1)
    else:
        raise config.ConfigError(f"unknown db scale {db_scale!r}; valid: demo, full")
    customers = build_customers(ids, seed)
    data = build_orders(profile, seed, catalog, ids)
    tables = {
        "auto_parts": to_table("auto_parts", catalog["auto_parts"]),
        "customers": to_table("customers", customers),
        "service": to_table("service", catalog["service"]),
        "service_parts": to_table("service_parts", catalog["service_parts"]),
    }
    for name, values in data.items():
        tables[name] = to_table(name, values)
    return tables


def _copy(conn, name: str, table: pa.Table, chunk_rows: int = 200_000) -> None:
    columns = ", ".join(table.column_names)
    with conn.cursor().copy(f"copy public.{name} ({columns}) from stdin with (format csv)") as copy:
        for offset in range(0, table.num_rows, chunk_rows):
            buffer = io.BytesIO()
            pacsv.write_csv(table.slice(offset, chunk_rows), buffer,
                            write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            copy.write(buffer.getvalue())


def _drop_logical_slots(conn, warn) -> list[str]:
    rows = conn.execute(
        "select slot_name, active_pid from pg_replication_slots "
        "where slot_type = 'logical' and database = current_database()"
    ).fetchall()
    for slot, pid in rows:
        if pid:
            conn.execute("select pg_terminate_backend(%s)", (pid,))
            conn.execute("select pg_sleep(0.2)")
        conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        warn(f"WARNING: dropped logical replication slot {slot!r} to reseed the source database; "
             "the lake must be bootstrapped again (autocorp-lake run autocorp_bootstrap)")
    return [r[0] for r in rows]


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from public.{t}").fetchone()[0] for t in TABLES}


def seed_database(db_scale: str = "demo", seed: int = 42, progress: bool = True, log=None) -> dict:
    """Fill the 7 source tables (idempotent for the same scale + seed). Returns counts and whether it ran."""
    from autocorp_lake.local import services

    log = log or _stderr_log
    services.apply_source_schema()
    with services.connect() as conn:
        conn.execute(
            "create table if not exists public.autocorp_seed_info "
            "(scale text not null, seed integer not null, seeded_at timestamptz not null default now())"
        )
        info = conn.execute("select scale, seed from public.autocorp_seed_info order by seeded_at desc limit 1").fetchone()
        current = _counts(conn)
        if info == (db_scale, seed) and all(current.values()):
            # same scale + seed and no table emptied since: keep it (and any simulated changes)
            log(f"source database already seeded with scale={db_scale} seed={seed} "
                f"({sum(current.values()):,} rows); nothing to do")
            return {"seeded": False, "counts": current}
        with _progress(progress, len(TABLES) + 2, f"database ({db_scale})") as step:
            step("generating")
            tables = build_database(db_scale, seed)
            _drop_logical_slots(conn, log)
            with conn.transaction():
                step("truncating")
                conn.execute(f"truncate {', '.join('public.' + t for t in TABLES)} restart identity")
                for name in TABLES:
                    step(name)
                    _copy(conn, name, tables[name])
                for name, key in SERIAL_KEYS.items():
                    conn.execute(
                        f"select setval(pg_get_serial_sequence('public.{name}', '{key}'), "
                        f"coalesce((select max({key}) from public.{name}), 1), "
                        f"(select count(*) > 0 from public.{name}))"
                    )
                conn.execute("delete from public.autocorp_seed_info")
                conn.execute("insert into public.autocorp_seed_info (scale, seed) values (%s, %s)", (db_scale, seed))
        for name in TABLES:
            conn.execute(f"analyze public.{name}")
        return {"seeded": True, "counts": _counts(conn)}


def _stderr_log(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message, markup=False)


def seed(scale: str = "demo", db_scale: str | None = None, seed: int = 42, csv: bool = False,
         rates: dict | None = None, export_dir=None, progress: bool = True) -> dict:
    """Create + fill the source database (demo-sized unless db_scale='full'); with csv=True also
    write the four CSV exports at `scale` and the manifest."""
    _profile(scale)  # validates
    result = seed_database(db_scale or "demo", seed, progress=progress)
    report = {
        "tables": [{"table": t, "rows": result["counts"][t]} for t in TABLES],
        "seeded": result["seeded"],
        "exports": [],
        "manifest_path": None,
    }
    if csv:
        manifest = write_exports(export_dir, scale=scale, seed=seed, rates=rates, progress=progress)
        report["exports"] = [{"file": f, "rows": v["rows"], "bytes": v["bytes"]} for f, v in manifest["files"].items()]
        report["manifest_path"] = manifest["manifest_path"]
    return report
