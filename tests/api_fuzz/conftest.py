"""A live API for schemathesis, and the machinery that runs it.

``fuzz_target``: pytest-django's live server (PostgreSQL when ``DATABASE_URL`` is set) with the in-thread Clerk
emulator behind it (``clerk_gateway``), a super_admin's long-lived session token, and real rows (two workspaces with
members and invitations, staff users, staff invitations) whose ids and emails are fed to the fuzzer.

``run_schemathesis(target)`` loads ``/api/schema/`` from the live server and runs schemathesis' engine on it, as
``st run`` does: every phase, every default check, positive and negative data. The totals are printed at the end of
the pytest run and written to ``FUZZ_SUMMARY_PATH`` (``/tmp/fuzz-summary.txt``), once for the whole run even under
pytest-xdist (tests/api_fuzz/summary.py). See docs/api-fuzzing.md.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from schemathesis import engine
from schemathesis.config import OutputConfig
from schemathesis.engine import events
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.engine.statistic import Statistic

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from internal_users import services as staff_services
from invitations import services as invitation_services
from tests.api_fuzz import summary
from tests.conftest import ClerkSession

# A fixed seed sends the same cases on every run; FUZZ_SEED picks another sequence, FUZZ_MAX_EXAMPLES a deeper run.
DEFAULT_SEED = 20240611
DEFAULT_MAX_EXAMPLES = 50
# How often a generated path id (or a grant-role email) is swapped for a real one; the rest stay random (404s).
REAL_VALUE_PROBABILITY = 0.7
# Above every limit the run could reach, so no 429 hides another answer. Every rate setting of the invitation and
# staff APIs is raised (per user and global); the limits themselves are tested in tests/invitations.
UNREACHABLE_RATE = "1000000/h"
RATE_SETTING = re.compile(r"^(INVITATIONS|INTERNAL_USERS)_[A-Z_]+_RATE$")
STAFF_ROLES = (Role.ADMIN, Role.PM)  # deactivated, reactivated and removed by the fuzzer (never the super_admin itself)


def max_examples() -> int:
    return int(os.environ.get("FUZZ_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES))


def seed() -> int:
    return int(os.environ.get("FUZZ_SEED", DEFAULT_SEED))


# --------------------------------------------------------------------------- the live target
@dataclass(frozen=True)
class RealValues:
    """Values of existing rows for the parameters of the operations whose path matches ``path_regex``."""

    path_regex: str
    parameters: dict[str, tuple[int | str, ...]]  # "path.workspace_id", "body.email", ...


@dataclass(frozen=True)
class FuzzTarget:
    url: str
    token: str
    real_values: tuple[RealValues, ...]


@pytest.fixture
def fuzz_target(
    live_server: Any,
    transactional_db: None,
    settings: Any,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., ClerkSession],
    clerk_workspace: Callable[..., Workspace],
) -> FuzzTarget:
    url = str(live_server.url)
    settings.APP_BASE_URL = url
    clerk_gateway.caps_enabled = False  # Clerk's hourly caps (the emulator's default is off): no 429 from Clerk either
    raised = [name for name in dir(django_settings) if RATE_SETTING.match(name)]
    assert raised, "no rate settings found to raise"
    for name in raised:
        setattr(settings, name, UNREACHABLE_RATE)

    me = clerk_session(Role.SUPER_ADMIN, email="fuzzer@example.com")
    assert me.user is not None
    workspaces = [clerk_workspace("Fuzz Co"), clerk_workspace("Other Co")]
    members: list[str] = []
    invitation_ids: list[int] = []
    for number, workspace in enumerate(workspaces):
        for role in WorkspaceRole:
            email = f"{role}{number}@example.com"
            clerk_session(workspace=workspace, workspace_role=role, email=email)
            members.append(email)
        results = invitation_services.invitations_create(
            workspace=workspace,
            inviter=me.user,
            emails=[f"invitee{n}.{number}@example.com" for n in range(6)],
            role=WorkspaceRole.MEMBER,
        )
        invitation_ids += [result.invitation.pk for result in results if result.invitation is not None]

    staff = [clerk_session(role, email=f"staff-{role}{n}@example.com") for n in range(2) for role in STAFF_ROLES]
    staff_invitations = [
        staff_services.internal_invite(email=f"new-staff{n}@example.com", role=Role.PM, actor=me.user) for n in range(4)
    ]
    return FuzzTarget(
        url=url,
        token=me.token,
        real_values=(
            RealValues(
                r"^/api/workspaces/",
                {"path.workspace_id": tuple(w.pk for w in workspaces), "path.invitation_id": tuple(invitation_ids)},
            ),
            RealValues(
                r"^/api/admin/internal-users/",
                {
                    "path.invitation_id": tuple(invitation.pk for invitation in staff_invitations),
                    "path.clerk_user_id": tuple(session.clerk_user.id for session in staff),
                },
            ),
            # Granting a role needs an existing account: the workspace members' (and the staff's) emails.
            RealValues(
                r"^/api/admin/internal-users/grant-role/$",
                {"body.email": (*members, *(session.clerk_user.email for session in staff))},
            ),
        ),
    )


# A named allowance (issue 12's list endpoints): `check/`, `import/` and `bulk/` take a CSV as a multipart file *or*
# text part and combine or narrow optional selections, which OpenAPI 3.0 cannot state precisely, so schemathesis's
# two "does the server agree with the schema exactly" checks (ST201 schema-violating accepted, ST202 schema-valid
# rejected) are off for them alone. Every other check (5xx, response schema, status codes, content types) still runs.
LIST_INPUT_ALLOWANCE: dict[str, Any] = {
    "include-path-regex": r"/invitations/(check|import|bulk)/$",
    "checks": {
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {"enabled": False},
    },
}


def fuzz_config(target: FuzzTarget, path_regex: str = ".*") -> schemathesis.Config:
    """Every default check, positive and negative data, a fixed seed, and real values mixed into parameters; the
    operations whose path does not match ``path_regex`` are off (``schema.include`` would be simpler, but in
    schemathesis 4.32 it selects every operation once the config has ``operations`` entries)."""
    dictionaries: dict[str, Any] = {}
    operations: list[dict[str, Any]] = []
    for number, real in enumerate(target.real_values):
        bindings = {}
        for parameter, values in real.parameters.items():
            if values:
                name = f"real{number}.{parameter}"
                dictionaries[name] = {"values": list(values)}
                bindings[parameter] = {"dictionary": name, "probability": REAL_VALUE_PROBABILITY}
        operations.append({"include-path-regex": real.path_regex, "parameters": bindings})
    operations.append(LIST_INPUT_ALLOWANCE)
    operations.append({"exclude-path-regex": path_regex, "enabled": False})
    return schemathesis.Config.from_dict(
        {
            "seed": seed(),
            "base-url": target.url,
            "request-timeout": 15,
            "cache": {"enabled": False},  # no state carried from one run to the next (it would live in .schemathesis/)
            "auth": {"openapi": {"clerkSession": {"bearer": target.token}}},
            "generation": {
                "mode": "all",
                "max-examples": max_examples(),
                "database": "none",  # the same cases on every machine, whatever an earlier run found
            },
            "dictionaries": dictionaries,
            "operations": operations,
        }
    )


# --------------------------------------------------------------------------- running the engine
@dataclass
class OperationStats:
    """What one operation was sent and how it answered."""

    cases: int = 0
    modes: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)


@dataclass
class FuzzRun:
    """The outcome of one run: schemathesis' own ``Statistic`` (failures, reproductions) and a tally per operation."""

    label: str = ""
    statistic: Statistic = field(default_factory=Statistic)
    operations: dict[str, OperationStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    stop_reason: str = ""

    def record(self, recorder: ScenarioRecorder) -> None:
        self.statistic.on_scenario_finished(recorder)
        for case_id, node in recorder.cases.items():
            case = node.value
            stats = self.operations.setdefault(case.operation.label, OperationStats())
            stats.cases += 1
            if case.meta is not None:
                stats.modes[case.meta.generation.mode.value] += 1
                stats.phases[case.meta.phase.name.value] += 1
            interaction = recorder.interactions.get(case_id)
            if interaction is not None and interaction.response is not None:
                stats.statuses[interaction.response.status_code] += 1

    @property
    def total_cases(self) -> int:
        return sum(stats.cases for stats in self.operations.values())

    def failure_report(self) -> str:
        """Engine errors, then schemathesis' failure blocks (check, response, curl reproduction) by operation."""
        blocks = list(self.errors)
        for label in sorted(self.statistic.failures):
            blocks.append(f"_____ {label} _____")
            for index, group in enumerate(self.statistic.failures[label].values(), 1):
                blocks.append(group.format(index=index, curl=group.code_sample, config=OutputConfig()))
        return "\n\n".join(blocks)

    def summary_lines(self) -> list[str]:
        modes: Counter[str] = Counter()
        for stats in self.operations.values():
            modes.update(stats.modes)
        lines = [
            f"schemathesis {schemathesis.__version__} [{self.label}]: {len(self.operations)} operations, "
            f"{self.total_cases} cases "
            f"({', '.join(f'{count} {mode}' for mode, count in sorted(modes.items()))}) in {self.seconds:.0f}s; "
            f"{self.statistic.total_failures} failures, {len(self.errors)} errors; seed {seed()}, "
            f"max_examples {max_examples()}; stopped: {self.stop_reason}",
            "  phases: " + ", ".join(f"{name} {status}" for name, status in self.phases.items()),
        ]
        for label, stats in sorted(self.operations.items()):
            statuses = " ".join(f"{status}:{count}" for status, count in sorted(stats.statuses.items()))
            by_phase = ", ".join(f"{phase} {count}" for phase, count in sorted(stats.phases.items()))
            lines.append(f"  {label}: {stats.cases} cases ({by_phase}); answers {statuses}")
        return lines


# The operations, in three runs of about the same length that pytest-xdist can hand to different workers; each run
# keeps the links its stateful phase follows (create an invitation, then read, resend, revoke it; list members or
# staff, then change one). tests/api_fuzz/test_schemathesis.py checks that every operation is in exactly one group.
# (The staff API split in two cost more in all, 89 s + 78 s against 118 s under coverage: each run pays the
# schema's coverage phase and the fixture again.)
FUZZ_GROUPS: dict[str, str] = {
    "staff": r"^/api/admin/",
    "workspace-invitations": r"^/api/workspaces/\{workspace_id\}/invitations/",
    "workspaces-and-members": r"^/api/workspaces/(\{workspace_id\}/(members/.*)?)?$",
}


def run_schemathesis(target: FuzzTarget, *, path_regex: str = ".*") -> FuzzRun:
    """Every schemathesis phase against the live server (the operations whose path matches ``path_regex``):
    examples, coverage, fuzzing, stateful."""
    schema = schemathesis.openapi.from_url(f"{target.url}/api/schema/", config=fuzz_config(target, path_regex))
    run = FuzzRun(label=path_regex)
    started = time.monotonic()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            run.record(event.recorder)
        elif isinstance(event, events.PhaseFinished):
            run.phases[event.phase.name.value] = event.status.value
        elif isinstance(event, events.NonFatalError):
            sample = f"\n\n    {event.info.code_sample}" if event.info.code_sample else ""
            run.errors.append(f"ERROR in {event.label}: {event.info.title}\n\n{event.info.message}{sample}")
        elif isinstance(event, events.FatalError):
            run.errors.append(f"FATAL: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            run.stop_reason = event.stop_reason.value
            if event.failures:
                run.statistic.record_run_check_failures(event.failures, label="after the run")
    run.seconds = time.monotonic() - started
    summary.record(run.summary_lines())
    return run
