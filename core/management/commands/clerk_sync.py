"""``manage.py clerk_sync [--dry-run] [--only users,workspaces,...]``: reconcile with Clerk and print a drift report.

Safe to run while the app serves traffic, and twice at once (the second run leaves at once). Exit status 0 when
everything found was repaired (or nothing was found), 1 when some drift could not be repaired or Clerk failed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.reconcile import SyncReport, clerk_sync, reconcilers


class Command(BaseCommand):
    help = "Reconcile users, workspaces, memberships and invitations with Clerk; print a drift report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report drift without repairing anything.")
        parser.add_argument("--only", default="", help="Comma-separated areas to reconcile (default: all). See --list.")
        parser.add_argument("--list", action="store_true", help="List the areas and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name, _ in reconcilers():
                self.stdout.write(name)
            return
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        unknown = set(only) - {name for name, _ in reconcilers()}
        if unknown:
            raise CommandError(f"Unknown area(s): {', '.join(sorted(unknown))}. Use --list.")
        report = clerk_sync(dry_run=options["dry_run"], only=only or None)
        self._print(report)
        if report.ran and (report.errors or (report.unrepaired and not report.dry_run)):
            raise SystemExit(1)

    def _print(self, report: SyncReport) -> None:
        if not report.ran:
            self.stdout.write("Another clerk_sync is running; nothing done.")
            return
        mode = "dry run: nothing changed" if report.dry_run else "repairs applied"
        self.stdout.write(f"Clerk sync ({mode}) in {report.seconds:.1f}s")
        seen = ", ".join(f"{area} {count}" for area, count in sorted(report.counts.items())) or "nothing"
        self.stdout.write(f"Checked in Clerk: {seen}")
        if not report.drifts:
            self.stdout.write(self.style.SUCCESS("No drift."))
        else:
            by_kind = Counter((drift.area, drift.kind) for drift in report.drifts)
            self.stdout.write(f"Drift: {len(report.drifts)} ({len(report.drifts) - len(report.unrepaired)} repaired)")
            for (area, kind), count in sorted(by_kind.items()):
                self.stdout.write(f"  {area:<22} {kind:<24} {count}")
            for drift in report.drifts:
                state = "repaired" if drift.repaired else ("reported" if report.dry_run else "NOT repaired")
                self.stdout.write(f"  - [{state}] {drift.area} {drift.clerk_id}: {drift.description}")
        for error in report.errors:
            self.stderr.write(f"error: {error}")
