"""kubesim's CronJob controller on its clock (cronjobs.py, clock.py), with the real kubectl."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from kubesim.fixture import KubeSim

NS = "cron"


@pytest.fixture(scope="module")
def sim(kubesim: KubeSim) -> KubeSim:
    kubesim.kubectl("create", "namespace", NS, check=True)
    return kubesim


def cronjob(name: str, script: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "none", "command": ["/bin/bash", "-c", script]}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "schedule": "*/5 * * * *",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 120,
            **spec,
            "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "backoffLimit": 0,
                    "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
                },
            },
        },
    }


def apply(sim: KubeSim, obj: dict[str, Any]) -> None:
    sim.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj), check=True)


def jobs_of(sim: KubeSim, name: str) -> list[dict[str, Any]]:
    got = sim.api(f"/apis/batch/v1/namespaces/{NS}/jobs?labelSelector=app%3D{name}")
    return sorted(got["items"], key=lambda j: j["metadata"]["name"])


def cj(sim: KubeSim, name: str) -> dict[str, Any]:
    got: dict[str, Any] = sim.api(f"/apis/batch/v1/namespaces/{NS}/cronjobs/{name}")
    return got


def done(job: dict[str, Any]) -> bool:
    conds = (job.get("status") or {}).get("conditions") or []
    return any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conds)


def finished_job(sim: KubeSim, cronjob: str, name: str) -> bool:
    return [done(j) for j in jobs_of(sim, cronjob) if j["metadata"]["name"] == name] == [True]


def slot_after(minutes: int = 5) -> datetime:
    """A time 30 s past a */5 slot, later than the clock's now."""
    now = datetime.fromisoformat(sim_now.replace("Z", "+00:00"))
    base = now.replace(second=30, microsecond=0) - timedelta(minutes=now.minute % 5)
    return base + timedelta(minutes=minutes)


sim_now = ""


def move_to(sim: KubeSim, when: datetime, cronjob: str) -> list[str]:
    """Set the clock; the Jobs of cronjob that the move created."""
    global sim_now
    got = sim.clock(to=when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    sim_now = got["now"]
    return [j for j in got["jobs"] if j.startswith(f"{NS}/{cronjob}-")]


def next_slot(sim: KubeSim) -> datetime:
    global sim_now
    sim_now = sim.clock()["now"]
    return slot_after()


def test_advancing_the_clock_past_the_schedule_creates_exactly_one_job(sim: KubeSim) -> None:
    apply(sim, cronjob("every5", "true"))
    sim.wait_for(lambda: cj(sim, "every5").get("metadata"))
    slot = next_slot(sim)
    assert move_to(sim, slot - timedelta(minutes=1), "every5") == []  # before the slot: nothing
    created = move_to(sim, slot, "every5")
    minute = int(slot.replace(second=0).timestamp()) // 60
    assert created == [f"{NS}/every5-{minute}"]
    job = jobs_of(sim, "every5")[0]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == (
        slot.replace(second=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )
    status = cj(sim, "every5")["status"]
    assert status["lastScheduleTime"] == slot.replace(second=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert move_to(sim, slot + timedelta(seconds=20), "every5") == []  # the same slot runs once
    sim.wait_for(lambda: done(jobs_of(sim, "every5")[0]), 30)
    sim.wait_for(lambda: cj(sim, "every5")["status"].get("lastSuccessfulTime"), 10)


def test_forbid_starts_none_while_one_runs(sim: KubeSim) -> None:
    apply(sim, cronjob("busy", "sleep 120"))
    sim.wait_for(lambda: cj(sim, "busy").get("metadata"))
    slot = next_slot(sim)
    assert len(move_to(sim, slot, "busy")) == 1
    assert move_to(sim, slot + timedelta(minutes=5), "busy") == []  # the first still runs
    assert len(jobs_of(sim, "busy")) == 1
    events = sim.kubectl(
        "-n", NS, "get", "events", "--field-selector", "involvedObject.name=busy"
    ).stdout
    assert "JobAlreadyActive" in events
    sim.kubectl("-n", NS, "delete", "cronjob", "busy", check=True)
    sim.wait_for(lambda: jobs_of(sim, "busy") == [], 15)  # its Jobs go with it


def test_replace_deletes_the_running_job_first(sim: KubeSim) -> None:
    apply(sim, cronjob("repl", "sleep 120", concurrencyPolicy="Replace"))
    sim.wait_for(lambda: cj(sim, "repl").get("metadata"))
    slot = next_slot(sim)
    first = move_to(sim, slot, "repl")
    second = move_to(sim, slot + timedelta(minutes=5), "repl")
    assert len(first) == len(second) == 1 and first != second
    sim.wait_for(lambda: [f"{NS}/{j['metadata']['name']}" for j in jobs_of(sim, "repl")] == second)
    sim.kubectl("-n", NS, "delete", "cronjob", "repl", check=True)


def test_suspend_creates_none(sim: KubeSim) -> None:
    apply(sim, cronjob("paused", "true", suspend=True))
    sim.wait_for(lambda: cj(sim, "paused").get("metadata"))
    slot = next_slot(sim)
    assert move_to(sim, slot, "paused") == []
    assert jobs_of(sim, "paused") == []


def test_a_missed_schedule_beyond_the_starting_deadline_is_skipped(sim: KubeSim) -> None:
    apply(sim, cronjob("late", "true", startingDeadlineSeconds=60))
    sim.wait_for(lambda: cj(sim, "late").get("metadata"))
    slot = next_slot(sim)
    assert move_to(sim, slot + timedelta(seconds=90), "late") == []  # 2 min after the slot
    assert jobs_of(sim, "late") == []


def test_the_schedule_is_read_in_the_time_zone(sim: KubeSim) -> None:
    # 01:01 in Vienna is 00:01 UTC in winter
    apply(sim, cronjob("vienna", "true", schedule="1 1 * * *", timeZone="Europe/Vienna",
                       startingDeadlineSeconds=600))  # fmt: skip
    sim.wait_for(lambda: cj(sim, "vienna").get("metadata"))
    now = datetime.fromisoformat(sim.clock()["now"].replace("Z", "+00:00"))
    day = (now + timedelta(days=2)).date()
    winter = datetime(day.year, 1, 15, tzinfo=timezone.utc)
    if winter <= now:
        winter = winter.replace(year=winter.year + 1)
    at = winter.replace(hour=0, minute=1, second=30)
    assert (
        move_to(sim, at - timedelta(hours=1), "vienna") == []
    )  # 00:01 Vienna (23:01 UTC) is not it
    assert len(move_to(sim, at, "vienna")) == 1


def test_history_limits_keep_the_newest_finished_jobs(sim: KubeSim) -> None:
    apply(sim, cronjob("hist", "true", successfulJobsHistoryLimit=1, schedule="* * * * *"))
    sim.wait_for(lambda: cj(sim, "hist").get("metadata"))
    start = next_slot(sim)
    names = []
    for i in range(3):
        (created,) = move_to(sim, start + timedelta(minutes=10 + i), "hist")
        names.append(created.split("/")[1])
        sim.wait_for(lambda n=names[-1]: finished_job(sim, "hist", n), 30)
    sim.wait_for(lambda: [j["metadata"]["name"] for j in jobs_of(sim, "hist")] == names[-1:], 15)


def test_the_clock_endpoint_rejects_nonsense(sim: KubeSim) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        sim.clock(advance="soon")
    assert err.value.code == 400
