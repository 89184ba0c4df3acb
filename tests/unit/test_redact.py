from __future__ import annotations

import pytest

from handler.transforms.redact import mask_secrets


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        ("CREATE USER 'bob'@'%' IDENTIFIED BY 'p,a\\'ss'", "CREATE USER 'bob'@'%' IDENTIFIED BY '***'"),
        ('create user bob identified by "pw"', "create user bob identified by '***'"),
        (
            "ALTER USER u IDENTIFIED WITH 'mysql_native_password' AS '*ABC123'",
            "ALTER USER u IDENTIFIED WITH 'mysql_native_password' AS '***'",
        ),
        (
            "CREATE USER u IDENTIFIED WITH caching_sha2_password BY 'x'",
            "CREATE USER u IDENTIFIED WITH caching_sha2_password BY '***'",
        ),
        ("ALTER USER u IDENTIFIED BY 'new' REPLACE 'old'", "ALTER USER u IDENTIFIED BY '***' REPLACE '***'"),
        (
            "GRANT ALL ON *.* TO 'x'@'%' IDENTIFIED BY PASSWORD '*6BB4'",
            "GRANT ALL ON *.* TO 'x'@'%' IDENTIFIED BY PASSWORD '***'",
        ),
        ("SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", "SET PASSWORD FOR 'u'@'%' = PASSWORD('***')"),
        ("SET PASSWORD = 'new'", "SET PASSWORD = '***'"),
        ("select OLD_PASSWORD('x')", "select OLD_PASSWORD('***')"),
        (
            "CHANGE MASTER TO MASTER_PASSWORD='s3', MASTER_USER='r'",
            "CHANGE MASTER TO MASTER_PASSWORD='***', MASTER_USER='r'",
        ),
        ("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'p'", "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = '***'"),
        ("CREATE USER a IDENTIFIED BY 'it''s'", "CREATE USER a IDENTIFIED BY '***'"),
        ("CREATE USER a IDENTIFIED\nBY\t'multi\nline'", "CREATE USER a IDENTIFIED\nBY\t'***'"),
        # left alone
        ("select 'password' from t", "select 'password' from t"),
        ("select * from users where password_hash = 'abc'", "select * from users where password_hash = 'abc'"),
        ("ALTER USER u IDENTIFIED BY RANDOM PASSWORD", "ALTER USER u IDENTIFIED BY RANDOM PASSWORD"),
        ("", ""),
    ],
)
def test_mask(sql: str, masked: str) -> None:
    assert mask_secrets(sql) == masked
