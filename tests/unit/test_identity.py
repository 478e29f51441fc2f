"""The operator names itself without a passwd entry for its uid (the chart runs it as 65532)."""

from __future__ import annotations

import os
import pwd
import socket

import pytest
from kopf._core.engines import peering

from llmops.reconcile.main import own_identity


def no_passwd_entry(uid: int) -> pwd.struct_passwd:
    raise KeyError(f"getpwuid(): uid not found: {uid}")


def test_own_identity_needs_no_passwd_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pwd, "getpwuid", no_passwd_entry)
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(KeyError):  # what kopf's default does in such a container
        peering.detect_own_id(manual=False)
    assert own_identity() == f"llmops@{socket.gethostname()}/{os.getpid()}"
