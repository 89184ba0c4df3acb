"""A reproducible corpus of realistic audit lines: what an application behind an ORM, its batch jobs and its DBAs
send to Aurora MySQL. Long and varied statements (backtick-quoted column lists, joins, `IN` lists of any length,
multi-row inserts, a request comment in front), repeated with other literals, as real traffic is, with sessions
(CONNECT, the session's statements, DISCONNECT), failed statements and logins, DDL and account changes among them.

    from bench.sql_corpus import realistic_lines
    lines = realistic_lines(200_000)

Storage of this corpus is what a user sees; tests/events/generate.py's random word salad is the worst case.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from tests.events.generate import plugin_escape

BASE_US = 1_700_000_000_000_000
_FIRST = ["Ana", "Bo", "Chen", "Dana", "Émile", "Fatima", "Giulia", "Hiro", "Ines", "Jonas", "Kofi", "Lena"]
_CITIES = ["Lisbon", "Osaka", "Lagos", "Austin", "Zürich", "Pune", "Leeds", "Quito"]
_STATUS = ["pending", "paid", "shipped", "cancelled", "refunded"]


def _cols(table: str, names: list[str]) -> str:
    return ", ".join(f"`{table}`.`{n}`" for n in names)


_ORDER_COLS = ["id", "customer_id", "status", "total_cents", "currency", "created_at", "updated_at", "shipping_id"]
_CUSTOMER_COLS = ["id", "email", "first_name", "last_name", "city", "country", "created_at", "last_login_at", "tier"]
_ITEM_COLS = ["id", "order_id", "sku", "quantity", "unit_price_cents", "discount_cents", "tax_cents"]


def _ids(rng: random.Random, low: int = 1, high: int = 60) -> str:
    return ", ".join(str(rng.randint(1, 9_999_999)) for _ in range(rng.randint(low, high)))


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST).lower()}.{''.join(rng.choices(string.ascii_lowercase, k=6))}@example.com"


def _day(rng: random.Random) -> str:
    return (
        f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
    )


def _app(rng: random.Random) -> str:
    shapes: list[Callable[[], str]] = [
        lambda: (
            f"SELECT {_cols('orders', _ORDER_COLS)} FROM `orders` WHERE `orders`.`id` = {rng.randint(1, 9_999_999)}"
            " LIMIT 1"
        ),
        lambda: (
            f"SELECT {_cols('customers', _CUSTOMER_COLS)} FROM `customers` WHERE `customers`.`email` = "
            f"'{_email(rng)}' LIMIT 1"
        ),
        lambda: (
            f"SELECT {_cols('order_items', _ITEM_COLS)} FROM `order_items` WHERE `order_items`.`order_id` IN "
            f"({_ids(rng)})"
        ),
        lambda: (
            f"SELECT {_cols('orders', _ORDER_COLS)}, {_cols('customers', ['email', 'tier'])} FROM `orders` "
            "INNER JOIN `customers` ON `customers`.`id` = `orders`.`customer_id` WHERE `orders`.`status` = "
            f"'{rng.choice(_STATUS)}' AND `orders`.`created_at` >= '{_day(rng)}' ORDER BY `orders`.`created_at` DESC "
            f"LIMIT {rng.choice([20, 50, 100])} OFFSET {rng.randrange(0, 2000, 20)}"
        ),
        lambda: (
            f"UPDATE `orders` SET `status` = '{rng.choice(_STATUS)}', `updated_at` = '{_day(rng)}' WHERE "
            f"`orders`.`id` = {rng.randint(1, 9_999_999)}"
        ),
        lambda: (
            "INSERT INTO `order_items` (`order_id`, `sku`, `quantity`, `unit_price_cents`, `discount_cents`, "
            "`tax_cents`) VALUES "
            + ", ".join(
                f"({rng.randint(1, 9_999_999)}, 'SKU-{rng.randint(1000, 99999)}', {rng.randint(1, 9)}, "
                f"{rng.randint(100, 99999)}, 0, {rng.randint(0, 999)})"
                for _ in range(rng.randint(1, 25))
            )
        ),
        lambda: (
            "INSERT INTO `customers` (`email`, `first_name`, `last_name`, `city`, `country`, `created_at`) "
            f"VALUES ('{_email(rng)}', '{rng.choice(_FIRST)}', '{rng.choice(_FIRST)}son', '{rng.choice(_CITIES)}', "
            f"'{rng.choice(['PT', 'JP', 'NG', 'US', 'CH', 'IN'])}', '{_day(rng)}')"
        ),
        lambda: f"DELETE FROM `sessions` WHERE `sessions`.`expires_at` < '{_day(rng)}' LIMIT 1000",
        lambda: (
            f"SELECT COUNT(*) AS `count` FROM `orders` WHERE `orders`.`customer_id` = {rng.randint(1, 999_999)}"
            f" AND `orders`.`status` IN ('{rng.choice(_STATUS)}', '{rng.choice(_STATUS)}')"
        ),
        lambda: "SELECT 1",
        lambda: "BEGIN",
        lambda: "COMMIT",
        lambda: "SET autocommit=1",
        lambda: "SET NAMES utf8mb4 COLLATE utf8mb4_0900_ai_ci",
    ]
    sql = rng.choice(shapes)()
    if rng.random() < 0.3:
        controller = rng.choice(["checkout", "orders", "account", "search"])
        sql = f"/* controller:{controller},request_id:{rng.getrandbits(64):x} */ {sql}"
    return sql


def _report(rng: random.Random) -> str:
    """The analysts' long, hand-written queries."""
    return (
        "SELECT date_format(o.created_at, '%Y-%m') AS month, c.country, c.tier,\n"
        "       count(DISTINCT o.id) AS orders,\n"
        "       sum(i.quantity * i.unit_price_cents - i.discount_cents) / 100 AS revenue,\n"
        "       avg(i.tax_cents) AS avg_tax\n"
        "  FROM orders o\n"
        "  JOIN customers c ON c.id = o.customer_id\n"
        "  LEFT JOIN order_items i ON i.order_id = o.id\n"
        f" WHERE o.created_at BETWEEN '{_day(rng)}' AND '{_day(rng)}'\n"
        "   AND o.status NOT IN ('cancelled', 'refunded')"
        f" AND c.country IN ({', '.join(repr(x) for x in rng.sample(['PT', 'JP', 'NG', 'US', 'CH', 'IN'], 3))})\n"
        " GROUP BY month, c.country, c.tier\n"
        f"HAVING revenue > {rng.randint(100, 100000)}\n"
        " ORDER BY month, revenue DESC"
    )


def _admin(rng: random.Random, n: int) -> str:
    shapes = [
        f"CREATE TABLE `archive_orders_{n}` (\n  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n"
        "  `customer_id` bigint unsigned NOT NULL,\n  `status` varchar(32) NOT NULL DEFAULT 'pending',\n"
        "  `total_cents` bigint NOT NULL,\n  `currency` char(3) NOT NULL,\n  `created_at` datetime(6) NOT NULL,\n"
        "  PRIMARY KEY (`id`),\n  KEY `idx_customer_created` (`customer_id`, `created_at`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
        f"ALTER TABLE `orders` ADD COLUMN `note_{n}` varchar(255) NULL AFTER `currency`, ALGORITHM=INSTANT",
        f"DROP TABLE IF EXISTS `tmp_import_{n}`",
        f"TRUNCATE TABLE `staging_{n % 7}`",
        f"GRANT SELECT, INSERT, UPDATE ON `shop`.* TO 'svc_{n % 13}'@'10.0.%'",
        f"CREATE USER 'svc_{n % 13}'@'10.0.%' IDENTIFIED BY '***'",
        f"ALTER USER 'report'@'%' IDENTIFIED BY '***' PASSWORD EXPIRE INTERVAL {rng.choice([90, 180])} DAY",
        f"REVOKE INSERT ON `shop`.* FROM 'svc_{n % 13}'@'10.0.%'",
        "SHOW FULL PROCESSLIST",
        "SELECT * FROM information_schema.innodb_trx",
    ]
    return rng.choice(shapes)


class _Log:
    """The lines written so far, and the counters a server keeps (time, connection and query ids)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.stamp, self.connid, self.queryid = BASE_US, 1000, 900_000_000

    def emit(self, rng: random.Random, who: tuple[str, str], op: str, sql: str = "", retcode: int = 0) -> None:
        self.stamp += rng.randint(50, 5000)
        qid = 0 if op.endswith("CONNECT") else self.queryid
        self.queryid += 1
        obj = "'" + plugin_escape(sql) + "'" if sql else ""
        user, client = who
        self.lines.append(
            f"{self.stamp},prod-aurora-instance-1,{user},{client},{self.connid},{qid},{op},shop,{obj},{retcode}"
        )


def realistic_lines(count: int, seed: int = 24) -> list[str]:
    """`count` Aurora audit lines in sessions: an application (most), a reporting job, a DBA now and then."""
    rng = random.Random(seed)
    log = _Log()
    clients = {"app": ["10.0.1.17", "10.0.1.18", "10.0.2.33"], "report": ["10.0.9.4"], "admin": ["10.0.0.5"]}
    while len(log.lines) < count:
        user = rng.choices(["app", "report", "admin"], weights=[90, 7, 3])[0]
        who = (user, rng.choice(clients[user]))
        log.connid += 1
        if rng.random() < 0.01:
            log.emit(rng, who, "FAILED_CONNECT", retcode=1045)
            continue
        log.emit(rng, who, "CONNECT")
        for _ in range(rng.randint(1, 40) if user == "app" else rng.randint(1, 5)):
            if user == "app":
                sql = _app(rng)
            elif user == "report":
                sql = _report(rng)
            else:
                sql = _admin(rng, len(log.lines))
            retcode = 0 if rng.random() > 0.01 else rng.choice([1064, 1146, 1062, 1213])
            log.emit(rng, who, "QUERY", sql, retcode)
            if user == "app" and rng.random() < 0.1:
                log.emit(rng, who, rng.choice(["READ", "WRITE"]), rng.choice(["orders", "customers", "order_items"]))
        log.emit(rng, who, "DISCONNECT")
    return log.lines[:count]
