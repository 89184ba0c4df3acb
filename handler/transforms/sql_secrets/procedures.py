"""The RDS/Aurora stored procedures that take a credential as a positional argument. Pure."""

from __future__ import annotations

from handler.transforms.sql_secrets.lexer import BACKTICK, PUNCT, STRING, WORD
from handler.transforms.sql_secrets.scan import Scan


def call(scan: Scan, i: int) -> int:
    """After CALL: [schema.]procedure(…) in any case, quoted or not, spaced or not; its password argument masked."""
    name = ""
    while i < scan.n:
        tok = scan.toks[i]
        if tok.kind == WORD:
            name = tok.text
        elif tok.kind in (BACKTICK, STRING):
            name = scan.sql[tok.start + 1 : tok.end - 1].lower().rsplit(".", 1)[-1]
        elif not (tok.kind == PUNCT and tok.text == "."):
            break
        i += 1
    which = password_argument(name.strip())
    if which is None or not scan.punct(i, "("):
        return i
    return scan.arguments(i, every_word=True, which=which)


def password_argument(name: str) -> int | None:
    """Which positional argument (0-based) of an RDS/Aurora procedure is a credential.

    From the AWS documentation (RDS User Guide, "Configuring, starting, and stopping binary log (binlog)
    replication", "Managing multi-source replication", "Managing active-active clusters", and the page of each
    procedure), looked up for this module:
    - `mysql.rds_set_external_master_with_delay(host_name, host_port, replication_user_name,
      replication_user_password, mysql_binary_log_file_name, mysql_binary_log_file_location, ssl_encryption,
      delay)`, `…_with_auto_position(host_name, host_port, replication_user_name, replication_user_password,
      ssl_encryption, delay)`, MariaDB's `mysql.rds_set_external_master_gtid(host_name, host_port,
      replication_user_name, replication_user_password, gtid, ssl_encryption)`; `rds_set_external_master`,
      `rds_set_external_source` (8.4), `rds_set_external_source_with_delay`,
      `rds_set_external_source_with_auto_position` and the multi-source `…_for_channel` variants share the first
      four. The prefix covers them all and any later variant: the fourth argument is the password.
    - `mysql.rds_group_replication_create_user(replication_user_password)`.
    - `mysql.rds_import_binlog_ssl_material(ssl_material)` (Aurora): JSON holding the client's private key.
    - `mysql.rds_group_replication_set_recovery_channel`: the docs list it beside create_user for the same
      replication user; its syntax was not in what we found, so its first argument is masked on the safe side.
    """
    if name.startswith(("rds_set_external_master", "rds_set_external_source")):
        return 3
    if name in {
        "rds_group_replication_create_user",
        "rds_group_replication_set_recovery_channel",
        "rds_import_binlog_ssl_material",
    }:
        return 0
    return None
