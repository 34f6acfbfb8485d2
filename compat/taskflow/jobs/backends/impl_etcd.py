"""``taskflow.jobs.backends.impl_etcd``: the etcd jobboard (greenflow's, etcd3gw, fenced claims)."""

from __future__ import annotations

from greenflow.jobs._etcd import EtcdJobBoard

__all__ = ["EtcdJobBoard"]
