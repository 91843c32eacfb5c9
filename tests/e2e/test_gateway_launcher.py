"""``iam-planes up`` and the services backend: a moto server started, shown and stopped like
every other process; ``--services-backend URL`` uses one elsewhere; ``none`` has no gateway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy.processes import is_running
from tests.e2e.cluster import iam_planes, running_cluster
from tests.e2e.gateway_helpers import client

pytestmark = pytest.mark.e2e


def test_the_launcher_starts_shows_and_stops_moto_and_other_clusters_may_share_it(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path / "a", regions=("us-east-1",)) as first:
        services = first.file.services
        assert services is not None and services.embedded and services.pid is not None
        assert is_running(services.pid, "moto.server")
        status = iam_planes("status", "--json", "--state-dir", str(first.state_dir))
        rows = {row["process"]: row for row in json.loads(status.stdout)}
        assert rows["services"]["up"] == "up"
        assert rows["services"]["endpoint"] == services.url

        with running_cluster(
            tmp_path / "b", regions=("us-east-1",), up_options=("--services-backend", services.url)
        ) as second:
            shared = second.file.services
            assert shared is not None and not shared.embedded and shared.url == services.url
            s3 = client(second, "s3", "us-east-1")
            s3.create_bucket(Bucket="served-by-the-first-clusters-moto")
            s3.put_object(Bucket="served-by-the-first-clusters-moto", Key="k", Body=b"v")
            got = s3.get_object(Bucket="served-by-the-first-clusters-moto", Key="k")
            assert got["Body"].read() == b"v"
        assert is_running(services.pid, "moto.server")  # the second cluster's down left it
    assert not is_running(services.pid, "moto.server")


def test_services_backend_none_turns_the_gateway_off(tmp_path: Path) -> None:
    with running_cluster(
        tmp_path, regions=("us-east-1",), up_options=("--services-backend", "none")
    ) as cluster:
        assert cluster.file.services is None
        url = cluster.file.regions["us-east-1"].endpoint + "/some-bucket/some-key"
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(url, timeout=5)
        assert answered.value.code == 404
        assert json.loads(answered.value.read())["error"]["code"] == "UnknownOperation"
