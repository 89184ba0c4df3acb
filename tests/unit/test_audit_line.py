"""Table tests of the parser: every dialect and escape case in the formats doc."""

from __future__ import annotations

import pytest

from handler.transforms.audit_line import (
    AURORA,
    MARIADB,
    RDS_MYSQL,
    AuditRecord,
    ParseFailure,
    decode_line,
    parse_line,
    split_export_prefix,
)
from handler.transforms.unescape import unescape


def parsed(line: str) -> AuditRecord:
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord), rec
    return rec


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "1603442208508100,database-1-instance-1,admin,1.34.6.81,50,0,CONNECT,,,0",
            dict(
                timestamp="2020-10-23T08:36:48.508100Z",
                day="2020.10.23",
                dialect=AURORA,
                server="database-1-instance-1",
                user="admin",
                client="1.34.6.81",
                connid=50,
                queryid=0,
                operation="CONNECT",
                db="",
                obj="",
                retcode=0,
                connection_type="",
            ),
        ),
        (
            r"1603440571474649,database-1-instance-1,admin,1.34.6.81,30,973788,QUERY,mysqldemo,"
            r"'INSERT INTO customers (C_Id, Name) VALUES (3, \'ethan\')',0",
            dict(
                dialect=AURORA,
                connid=30,
                queryid=973788,
                operation="QUERY",
                db="mysqldemo",
                obj="INSERT INTO customers (C_Id, Name) VALUES (3, 'ethan')",
                retcode=0,
            ),
        ),
        (
            "1603439251354761,database-1-instance-1,admin,1.34.6.81,30,966941,CREATE,world,customers,",
            dict(dialect=AURORA, operation="CREATE", db="world", obj="customers", retcode=None),
        ),
        (
            "1603439251354761,database-1-instance-1,admin,1.34.6.81,30,966941,READ,world,customers,0",
            dict(dialect=AURORA, operation="READ", obj="customers", retcode=0),
        ),
        (
            "1728498527380921,auora-mysql-node1,user_1,172.31.49.222,147189,0,FAILED_CONNECT,,,1045",
            dict(dialect=AURORA, timestamp="2024-10-09T18:28:47.380921Z", operation="FAILED_CONNECT", retcode=1045),
        ),
        (
            "20221201 14:07:05,ip-10-22-1-51,rdsadmin,localhost,821,0,CONNECT,,,0,SOCKET",
            dict(
                dialect=RDS_MYSQL,
                timestamp="2022-12-01T14:07:05Z",
                day="2022.12.01",
                server="ip-10-22-1-51",
                operation="CONNECT",
                retcode=0,
                connection_type="SOCKET",
            ),
        ),
        (
            r"20230501 10:02:20,ip-10-1-0-50,root,localhost,8,585290,QUERY,,'select 1,\n2,\n3',0,,",
            dict(dialect=RDS_MYSQL, obj="select 1,\n2,\n3", retcode=0, connection_type="", db=""),
        ),
        (
            "20200720 16:37:59,ip-172-27-1-97,admin,10.120.186.117,305230,0,DISCONNECT,rdslogstest,,0",
            dict(dialect=MARIADB, operation="DISCONNECT", db="rdslogstest", retcode=0, connection_type=""),
        ),
        (
            "20201130 23:08:45,localhost.localdomain,,,2,0,DISCONNECT,,,0",
            dict(dialect=MARIADB, user="", client="", connid=2, retcode=0),
        ),
        (  # MariaDB TABLE event ends in a comma
            "20200720 16:38:02,ip-172-27-1-97,admin,10.0.0.1,305231,1201,WRITE,rdslogstest,orders,",
            dict(dialect=MARIADB, operation="WRITE", obj="orders", retcode=None),
        ),
        (  # RENAME: old|newdb.new
            "1603439251354761,i1,admin,h,30,7,RENAME,db,t_old|db.t_new,",
            dict(operation="RENAME", obj="t_old|db.t_new"),
        ),
        (  # MariaDB 12: host:port, TLS version as object
            "20250102 03:04:05,srv,app,10.0.0.5:51234,12,0,CONNECT,db,TLSv1.3,0",
            dict(client="10.0.0.5:51234", obj="TLSv1.3", retcode=0),
        ),
        (  # PROXY_CONNECT object
            "20250102 03:04:05,srv,app,h,12,0,PROXY_CONNECT,db,`u`@`%`,0",
            dict(operation="PROXY_CONNECT", obj="`u`@`%`"),
        ),
        (  # unknown operation is data
            "1603439251354761,i1,admin,h,30,7,SOMETHING_NEW,db,,0",
            dict(operation="SOMETHING_NEW"),
        ),
        (  # extra trailing fields tolerated
            "1603439251354761,i1,admin,h,30,7,QUERY,db,'select 1',0,extra,more",
            dict(dialect=AURORA, obj="select 1", retcode=0),
        ),
        (  # queryid beyond 2^32
            "1603439251354761,i1,admin,h,30,47141561040897,QUERY,db,'select 1',0",
            dict(queryid=47141561040897),
        ),
        (  # negative retcode
            "1603439251354761,i1,admin,h,30,1,QUERY,db,'select 1',-1",
            dict(retcode=-1),
        ),
        (  # double quotes and commas raw inside SQL
            "1603439251354761,i1,admin,h,30,1,QUERY,db,'select \"a,b\", 1',0",
            dict(obj='select "a,b", 1'),
        ),
        (  # old plugins replaced whitespace by spaces
            "1603439251354761,i1,admin,h,30,1,QUERY,db,'select  1  from   t',0",
            dict(obj="select  1  from   t"),
        ),
        (  # SQL ending in an escaped backslash, then the closing quote
            r"1603439251354761,i1,admin,h,30,1,QUERY,db,'select \'C:\\\\\'',0",
            dict(obj="select 'C:\\\\'"),
        ),
        (  # truncated after a backslash: the closing quote looks escaped; the last quote closes the object
            "1603439251354761,i1,admin,h,30,1,QUERY,db,'select \\',0",
            dict(obj="select \\", retcode=0),
        ),
        (  # SQL that contains ',0 inside a literal
            r"1603439251354761,i1,admin,h,30,1,QUERY,db,'select \',0\' as x',0",
            dict(obj="select ',0' as x", retcode=0),
        ),
        (  # empty SQL
            "1603439251354761,i1,admin,h,30,1,QUERY,db,'',0",
            dict(obj="", retcode=0),
        ),
    ],
)
def test_dialects(line: str, expected: dict[str, object]) -> None:
    rec = parsed(line)
    for key, value in expected.items():
        assert getattr(rec, key) == value, key


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        (r"\'", "'"),
        (r"\\", "\\"),
        (r"\n", "\n"),
        (r"\r", "\r"),
        (r"\t", "\t"),
        (r"\b", "\b"),
        (r"\f", "\f"),
        (r"\x", r"\x"),  # unknown escapes stay as written
        (r"\"", r"\""),
        (r"\\n", r"\n"),  # an escaped backslash followed by n
        (r"a\\\'b", "a\\'b"),
        ("trailing\\", "trailing\\"),
        ("none", "none"),
    ],
)
def test_unescape(escaped: str, plain: str) -> None:
    assert unescape(escaped) == plain


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "expected at least 10"),
        ("just some text", "expected at least 10"),
        ("1603439251354761,i1,admin,h,30,1,QUERY", "expected at least 10"),
        ("yesterday,i1,admin,h,30,1,QUERY,db,'x',0", "unrecognised timestamp"),
        ("160343925135476,i1,admin,h,30,1,QUERY,db,'x',0", "unrecognised timestamp"),  # 15 digits
        ("20231301 10:00:00,h,u,c,1,1,QUERY,db,'x',0", "invalid timestamp"),  # month 13
        ("9999999999999999,i1,admin,h,30,1,QUERY,db,'x',0", "out of range"),
        ("1603439251354761,i1,admin,h,abc,1,QUERY,db,'x',0", "connection id"),
        ("1603439251354761,i1,admin,h,30,,QUERY,db,'x',0", "query id"),
        ("1603439251354761,i1,admin,h,30,99999999999999999999,QUERY,db,'x',0", "query id"),
        ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x',zero", "return code"),
        ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x',99999999999", "return code"),
        ("1603439251354761,i1,admin,h,30,1,QUERY,db,'unterminated", "unterminated"),
        ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x'", "missing return code"),
        ("1603439251354761,i1,admin,h,30,1,CONNECT,db,", "missing return code"),
    ],
)
def test_failures_carry_a_reason(line: str, reason: str) -> None:
    rec = parse_line(line)
    assert isinstance(rec, ParseFailure)
    assert reason in rec.reason


def test_export_prefix() -> None:
    line, ms = split_export_prefix("2020-10-23T08:36:48.508Z 1603442208508100,i,u,h,1,0,CONNECT,,,0")
    assert line == "1603442208508100,i,u,h,1,0,CONNECT,,,0"
    assert ms == 1603442208508
    assert split_export_prefix("1603442208508100,i,u,h,1,0,CONNECT,,,0") == (
        "1603442208508100,i,u,h,1,0,CONNECT,,,0",
        None,
    )
    # looks like a prefix but is not a valid date: left alone
    assert split_export_prefix("2020-13-45T08:36:48.508Z x")[1] is None


def test_truncated_utf8_is_replaced_not_fatal() -> None:
    cut = "select Zoë 日本".encode()[:-2]  # cut inside 本: one byte of three kept
    data = b"1603439251354761,i1,admin,h,30,1,QUERY,db,'" + cut + b"',0"
    rec = parsed(decode_line(data))
    assert rec.obj.endswith("\ufffd")
    assert rec.obj == "select Zoë 日\ufffd"
