"""The command list: every command of both rendered programs, once.

Each ``Command`` says its verb, one-line summary, usage (one argument line per
form), group, the capability a namespace script needs to have it, and its long
help. From this list ``templates/core/_commands.sh.j2`` generates, per program:
the grouped top-level usage, the ``case`` dispatch in ``main``, ``help VERB`` and
``VERB --help`` (both exit 0), and the verb that usage errors point to
(``Run "backup-ns.sh VERB --help"``). Each verb runs ``command_<verb>`` (``-`` as
``_``) of the fragment that implements it.

Adding a command
----------------
1. Add one ``Command(...)`` to ``SCRIPT`` or ``CONTROLLER`` below, in the order
   its group lists it (``cap`` names the namespace capability it needs, if any).
2. Write ``command_<verb>`` in the fragment that implements it; it parses its own
   arguments (``--help`` never reaches it) and calls ``usage_error`` for bad ones.
3. Re-render and update the goldens.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUPS = ("Back up", "Get data back", "Inspect", "Maintain")

RUNBOOK_PAGE = "docs/runbook.md"
"""The runbook, in the backup-ns repository (its sections are ``## `` headings)."""

RUNBOOK = f"{RUNBOOK_PAGE} in the backup-ns repository"

RUNBOOK_SECTIONS = {
    "yesterday": "i-need-yesterdays-data-back",
    "current": "i-need-a-current-copy-or-a-fresh-dump-before-a-risky-change",
    "deleted": "the-namespace-was-deleted",
    "failed": "a-backup-failed",
    "stuck": "a-restore-is-stuck",
    "verify": "reading-a-drill-result",
    "retention": "retention-is-about-to-delete-a-snapshot-i-need",
    "clone": "i-need-a-copy-of-production-data-in-another-namespace",
}
"""The runbook's sections a command's help points to: key -> the heading's anchor
(``tests/generator/test_commands.py`` checks each exists in the page)."""


@dataclass(frozen=True)
class Command:
    verb: str
    summary: str
    """One line for the top-level usage."""
    group: str
    """One of GROUPS: where the top-level usage lists it."""
    usage: tuple[str, ...] = ("",)
    """The arguments, one string per form of the command."""
    help: str = ""
    """What it does, options, examples: printed after the usage lines."""
    cap: str = ""
    """The namespace capability a script needs to have this command ("" = always)."""
    pair: str = ""
    """The verb whose help and usage line this one shares (unkeep: keep)."""
    runbook: str = ""
    """A key of RUNBOOK_SECTIONS: the runbook section its help ends with ("" = none)."""
    job: bool = False
    """The namespace's CronJob runs it: it is in the job script (the ConfigMap's copy)."""
    drill: bool = False
    """The namespace's drill CronJob runs it: in the job script when scheduled drills are
    on (controller.verify.schedule)."""
    platform: bool = False
    """It changes or deletes backups: the platform team's (the admission policies and the
    restore Role refuse it to tenants, and the script says so in one line)."""

    @property
    def runbook_line(self) -> str:
        """The last line of its help: where the runbook tells what to do with it."""
        if not self.runbook:
            return ""
        return f"Runbook: {RUNBOOK_PAGE}#{RUNBOOK_SECTIONS[self.runbook]}"

    @property
    def function(self) -> str:
        """The bash function that runs it."""
        return "command_" + self.verb.replace("-", "_")


@dataclass(frozen=True)
class Program:
    """One rendered program's command list."""

    name: str
    """The script's file name, as its help shows it."""
    about: str
    """Two or three lines under the usage line of the top-level help."""
    commands: tuple[Command, ...]
    debug_hint: str
    """What the bug line of ``on_err`` tells the user to rerun with."""
    version: str
    """The bash words after ``printf`` that print ``--version``: the generator's version
    (no timestamp: rendering is deterministic)."""
    log_prefix: str = ""
    """Bash double-quoted text before every log and warning line."""
    log_shown: str = ""
    """log_prefix as the reader sees it (for the logging fragment's comment)."""
    die_where: str = ""
    """Bash double-quoted text after WHAT in the error line (where it failed)."""
    die_shown: str = ""
    runbook: str = RUNBOOK
    """Where the top-level help sends a user who needs data back."""
    kubectl_var: str = "BAK_KUBECTL"
    """The setting that overrides the kubectl binary."""
    kube_namespace: str = ""
    """The setting naming the namespace ``kube`` adds (--namespace), "" for none."""
    debug_var: str = "BAK_DEBUG"
    """The setting that turns on tracing and kubectl's full stderr."""
    platform_verbs: tuple[str, ...] = ()
    """The program's verbs that only the platform team may run (Command.platform), the
    same in the job script (which has none of them) as in the full script."""

    def has(self, verb: str) -> bool:
        """True when the program has VERB: the fragment implementing it is rendered."""
        return any(c.verb == verb for c in self.commands)


    @property
    def groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(group, [(verbs, summary)]) in GROUPS order for the top-level usage; a pair
        (keep, unkeep) is one line; empty groups are left out."""
        out = []
        for group in GROUPS:
            rows = [
                (", ".join([c.verb, *self.partners(c)]), c.summary)
                for c in self.commands
                if c.group == group and not c.pair
            ]
            if rows:
                out.append((group, rows))
        return out

    def partners(self, command: Command) -> list[str]:
        """The verbs that share COMMAND's help (pair=COMMAND.verb)."""
        return [c.verb for c in self.commands if c.pair == command.verb]

    @property
    def helps(self) -> list[tuple[list[str], str]]:
        """(the verbs of one help text, the text): usage lines, a blank line, the help."""
        out = []
        for command in self.commands:
            if command.pair:
                continue
            lead, lines = "Usage: ", []
            for c in (command, *(p for p in self.commands if p.pair == command.verb)):
                for args in c.usage:
                    lines.append(f"{lead}{self.name} {c.verb}{' ' + args if args else ''}")
                    lead = " " * len(lead)
            text = "\n".join(lines) + ("\n\n" + command.help if command.help else "")
            if command.runbook_line:
                text += "\n\n" + command.runbook_line
            out.append(([command.verb, *self.partners(command)], text))
        return out


SCRIPT: tuple[Command, ...] = (
    Command(
        "create",
        "dump (if configured), snapshot every PVC, wait until ready",
        "Back up",
        job=True,
        help="""\
Back up this namespace now: dependency check, the effective settings, a backup
slot (BAK_LOCK), snapshot names, the PVCs, then the database dump inside its
container (if configured), the pre hooks, one VolumeSnapshot per PVC (labelled
for retention), the post hooks, and a wait until every snapshot is ready. A
failure is one line on stderr and a non-zero exit; the snapshots of a failed run
are labelled backup-ns.sh/failed=true.

Settings come from the environment (BAK_*), else the baked defaults: see
"backup-ns.sh help settings".

Examples:
  BAK_DRY_RUN=true ./backup-ns.sh create      # every check, nothing dumped or created
  BAK_LOCK=none BAK_PVC_NAME=data ./backup-ns.sh create
  BAK_LOCK_NODE=node-7 ./backup-ns.sh create  # take a backup slot of node-7""",
        runbook="failed",
    ),
    Command(
        "dump",
        "refresh the dump file on the live volume now (no snapshot)",
        "Back up",
        ("[--force]",),
        """\
Dump the live database to its dump file (BAK_DB_*_DUMP_FILE) on the live volume,
the way create does, but take no snapshot: the checks (tools, SELECT 1, free
space), a backup slot (BAK_LOCK), the dump into a temporary file next to the
dump file, verified while it is written (gzip stream, sha256, not empty), then
renamed over the old file in one step. A failure leaves the previous file as it
was. The dump's size, sha256, duration and end time are recorded beside it in
<dump file>.info (create writes it too); info shows them.

Use it before a risky change (a migration, an upgrade) for a copy on the volume
you can restore with "backup-ns.sh dump-restore --from-pvc PVC".

When the dump file on the volume is held by no snapshot (its recorded sha256 is
no snapshot's dump-sha256, or nothing is recorded), replacing it loses that
copy: dump asks first (type the namespace name) and, without a terminal,
refuses unless --force. BAK_DRY_RUN=true: every check, nothing dumped.

Options:
  --force     do not ask
  -h, --help  show this help""",
        cap="db",
        runbook="current",
    ),
    Command(
        "restore-pvc",
        "a new PVC from a snapshot",
        "Get data back",
        (
            "SNAPSHOT --to NEW_PVC [--storage-class CLASS]\n"
            "                                [--size SIZE] [--wait] [--timeout T] [-o yaml|json]",
        ),
        """\
Create a new PVC from a ready snapshot (the live PVC is never touched). Its size
is the largest of the snapshot's restoreSize, the source PVC's request (while it
exists) and the size the source PVC had when the snapshot was taken (recorded by
create, kept by a rebind); or SIZE. Its StorageClass and access mode those of the
snapshot's source PVC, unless --storage-class is given.

Options:
  --to NEW_PVC           the PVC to create (refused when it exists)
  --storage-class CLASS  StorageClass of the new PVC
  --size SIZE            request SIZE (e.g. 20Gi); not below the restoreSize
  --wait                 wait until the PVC is Bound (with WaitForFirstConsumer
                         it binds once a pod uses it)
  --timeout T            how long --wait waits (default 5m)
  -o yaml|json           print the manifest, create nothing
  -h, --help             show this help

Then mount the PVC in a workload, or restore its dump into the live database:
  backup-ns.sh dump-restore --from-pvc NEW_PVC""",
        runbook="yesterday",
    ),
    Command(
        "dump-restore",
        "replace the database with a snapshot's dump, or restore it beside (asks first)",
        "Get data back",
        (
            "SNAPSHOT [--into NEWDB] [--terminate-sessions] [--lock-timeout DURATION] "
            "[--force] [--dry-run]",
            "--from-pvc PVC [--into NEWDB] [--terminate-sessions] [--lock-timeout DURATION] "
            "[--force] [--dry-run]",
        ),
        """\
Restore a dump into the database server, inside the database container. The
source is the dump held by SNAPSHOT (restored to a scratch PVC first), or the
dump file on PVC (e.g. one made by restore-pvc). Before anything is written:
the database answers SELECT 1, the dump passes its checks in a helper pod (size
and sha256 against the snapshot's annotations, gzip -t), and the server is
asked whether the restore can go ahead. Then it asks, naming the database, the
mode and when the dump was taken; type the namespace name to go on. Without a
terminal it refuses unless --force.

Modes:
  (default)      REPLACE the live database: afterwards it holds exactly the
                 dump (tables created after the backup are gone). Refused while
                 other sessions are connected to it, unless --terminate-sessions.
                 PostgreSQL: the dump is loaded into a temporary database in one
                 transaction, which then takes the live database's name (the old
                 one is dropped); a failure or an interrupt leaves the live
                 database unchanged. MySQL/MariaDB (no transactional DDL, no
                 database rename): DROP DATABASE, CREATE DATABASE with the same
                 character set and collation, then the load; a failure or an
                 interrupt during the load leaves the database holding part of
                 the dump, and the error says so: run it again, or use --into.
  --into NEWDB   restore SIDE BY SIDE into a new database NEWDB (refused if it
                 exists); the live database is not touched. A failure or an
                 interrupt drops NEWDB again.
The database's own settings (ALTER DATABASE ... SET) and GRANTs on it are those
of a new database; the user needs CREATEDB (PostgreSQL) or CREATE and DROP.

Options:
  --from-pvc PVC           read the dump file (BAK_DB_*_DUMP_FILE) from PVC
  --into NEWDB             restore into the new database NEWDB (see above)
  --terminate-sessions     end the other sessions of the live database (replace)
  --lock-timeout DURATION  give up when a lock is not granted within DURATION
                           (like 30s, 5m; default 30s): the database is unchanged
  --force                  do not ask
  --dry-run                do every check, restore nothing
  -h, --help               show this help

An interrupt (Ctrl-C, SIGTERM) ends with one line saying the database's state.""",
        cap="db",
        runbook="yesterday",
    ),
    Command(
        "dump-download",
        "copy a snapshot's dump (or a fresh one: --live) to this machine, verified",
        "Get data back",
        ("[SNAPSHOT] [-o PATH] [--retries N]", "--live [-o PATH]"),
        """\
Copy the dump held by SNAPSHOT (default: the newest snapshot with a dump) to
this machine: the snapshot is restored to a scratch PVC, a helper pod reads the
dump, the copy resumes where it broke off (up to N retries, default 5), and the
file is verified here against the dump-size / dump-sha256 annotations and with
gzip -t before it is renamed to PATH (default ./SNAPSHOT-<dump file name>).
While it copies, a progress line every 20 s (copied, total, rate, elapsed).

--live: a current copy instead: a fresh dump of the live database is streamed
from the database container straight to this machine (nothing is written to
the volume; no snapshot, no helper pod). The container computes the sha256 of
the stream it sends; here the file must have the same sha256 and pass gzip -t
before it is renamed to PATH (default ./NAMESPACE-live-<UTC time>-<dump file
name>). Progress (bytes, rate, elapsed) every 20 seconds. A failed or cut
stream leaves no file. MySQL/MariaDB: the dump locks the tables it reads
(as create's does), so writers wait while it runs.

The file is readable by you only (mode 0600); an existing PATH is never
overwritten. Needs sha256sum and gzip on this machine.""",
        cap="db",
        runbook="yesterday",
    ),
    Command(
        "db-shell",
        "interactive database client in the database container",
        "Get data back",
        help="""\
An interactive psql / mysql in the database container, logged in with the
configured user and database. The password is read from the container's own
environment inside the container; it is in no process's arguments. Without a
terminal, SQL is read from stdin.""",
        cap="db",
        runbook="yesterday",
    ),
    Command(
        "list",
        "the snapshots, newest first",
        "Inspect",
        ("[--daily|--weekly|--monthly] [--type TYPE] [--pvc PVC] [-o json]",),
        """\
The namespace's snapshots made by backup-ns (label backup-ns.sh/type), newest
first: ready state, age, restore size, PVC, type, period labels, delete-after,
keep, whether the dump annotations are present, and the last verify result.
Age and order are those of the time each was taken (backup-ns.sh/cut-at, kept
by a rebind; else the snapshot's status.creationTime), "?" when unknown.
Only the day's first snapshot carries the daily label: without a filter, the
later and ad-hoc ones of a day are listed too.

Options:
  --daily, --weekly, --monthly   only snapshots holding that period label
  --type TYPE                    only backup-ns.sh/type=TYPE (cronjob, adhoc, ...)
  --pvc PVC                      only snapshots of PVC
  -o json                        one JSON document for scripts: {"namespace",
                                 "snapshots": [{"name", "ready", "taken",
                                 "created", "restoreSize", "pvc", "type",
                                 "periods", "deleteAfter", "keep", "dump",
                                 "verified"}]} (newest first; a missing value
                                 is null)
  -h, --help                     show this help""",
        runbook="yesterday",
    ),
    Command(
        "info",
        "the live dump file, the database server and the newest snapshot",
        "Inspect",
        ("[-o json]",),
        """\
One screen about the live state: the dump file on the live volume (when it was
written, its size, and its sha256 and dump duration if recorded in <dump
file>.info), the database server's version and the database's size, and the
newest ready snapshot of the dump PVC with its age (and whether it holds the
same dump). Reads only.

Options:
  -o json     one JSON document for scripts: {"namespace", "database": {"kind",
              "name", "resource", "container", "serverVersion", "sizeBytes"},
              "dumpFile": {"path", "exists", "modified", "sizeBytes", "sha256",
              "durationSeconds", "finished"}, "newestSnapshot": {"name",
              "created", "ageSeconds", "pvc", "holdsDump"}} (a missing value is
              null; newestSnapshot is null when there is none)
  -h, --help  show this help""",
        cap="db",
        runbook="current",
    ),
    Command(
        "verify",
        "restore drill of a snapshot in the cluster; records the result",
        "Inspect",
        ("SNAPSHOT",),
        """\
A restore drill: restore SNAPSHOT to a scratch PVC. A snapshot with a database
dump: start a scratch database server from the image of the database container
(Pod Security restricted, uid BAK_TOOLBOX_RUN_AS_USER, its data on an emptyDir,
a unix socket only), check the dump (size, sha256, gzip -t), load it with every
error fatal, compare the tables and row counts with what create recorded beside
the dump (<dump file>.tables) and run verify.checks. Without a dump: a helper pod
counts the restored volume's files and bytes (empty fails). The pods and the PVC
are deleted on every exit path. The result (ok: tables= rows= ... restore=Ns, or
failed: <why>) is recorded on the snapshot: annotations backup-ns.sh/verified-at,
backup-ns.sh/verified-result and backup-ns.sh/verified-ok (true or false), and
as an Event (DrillPassed, DrillFailed).

With BAK_VERIFY_AFTER_BACKUP=true (verify.afterBackup in backupns.yaml), create
verifies each snapshot it made.""",
        runbook="verify",
        drill=True,
    ),
    Command(
        "config",
        "verify and print the effective settings (KEY=value, no secrets)",
        "Inspect",
        help="""\
Check every setting as create does, then print the settings that apply to a run,
one KEY=value line each, in the form the backup-ns.sh/env-config annotation
records (secrets only as their ${ENVVAR} reference). The environment (BAK_*)
overrides the baked defaults; "backup-ns.sh help settings" explains each one.""",
        runbook="failed",
    ),
    Command(
        "delete",
        "delete snapshots for good (asks first)",
        "Maintain",
        ("SNAPSHOT... [--yes] [--force]",),
        """\
Delete snapshots for good: shows what goes, asks (type "yes"), then patches each
bound VolumeSnapshotContent's deletionPolicy to Delete (so the data is removed,
not only the object), deletes the snapshot, then the content, and waits until
both are gone. Without a terminal it refuses unless --yes is given.

Options:
  --yes       do not ask
  --force     also delete snapshots labelled backup-ns.sh/keep=true
  -h, --help  show this help

Only the platform team may (the admission policies and RBAC refuse anyone else).""",
        runbook="retention",
        platform=True,
    ),
    Command(
        "keep",
        "protect a snapshot from retention, or not",
        "Maintain",
        ("SNAPSHOT [--force]",),
        """\
keep labels the snapshot backup-ns.sh/keep=true: retention never deletes it, and
delete refuses it without --force. unkeep removes the label again (retention
then treats it like any other snapshot).

keep refuses a failed snapshot (status.error, labelled backup-ns.sh/failed=true,
or not ready) unless --force is given: it cannot be restored from, and kept or
not it never counts as its day's, week's or month's copy.

Only the platform team may (the admission policies and RBAC refuse anyone else).""",
        runbook="retention",
        platform=True,
    ),
    Command("unkeep", "", "Maintain", ("SNAPSHOT",), pair="keep", platform=True),
)

CONTROLLER: tuple[Command, ...] = (
    Command(
        "rebind",
        "turn a retained content back into a VolumeSnapshot",
        "Get data back",
        ("CONTENT --namespace NS [--name NAME] [--timeout T]",),
        """\
Turn a retained VolumeSnapshotContent whose snapshot or namespace is gone back
into a VolumeSnapshot in NS (default name: the old snapshot's): a new
pre-provisioned content with the old snapshotHandle (deletionPolicy Retain,
backup-ns.sh/* labels and annotations kept) and a VolumeSnapshot bound to it,
labelled backup-ns.sh/keep=true (retention leaves it alone; unkeep it when
done). Waits until it is ready (default 2m), then deletes the old content
OBJECT (it is Retain: the data stays, now held by the new content), so the
orphan sweep can never delete the data the new snapshot uses.
Refused, whatever --name says, while a snapshot exists that the content (or
another content with the same snapshotHandle) belongs to: two snapshots of one
snapshotHandle would lose their data when either is deleted.""",
        runbook="deleted",
    ),
    Command(
        "clone",
        "a backup of one namespace as a new PVC in another",
        "Get data back",
        (
            "NAMESPACE/SNAPSHOT --to-namespace NS [--pvc NAME] [--wait] [--timeout T]",
            "SNAPSHOT -n NAMESPACE --to-namespace NS [--pvc NAME] [--wait] [--timeout T]",
        ),
        """\
Clone a ready backup of NAMESPACE into NS (prod into staging): a new
pre-provisioned VolumeSnapshotContent with the backup's snapshotHandle
(deletionPolicy Retain), a VolumeSnapshot in NS bound to it, then a PVC in NS
from that snapshot. PVC and snapshot are both named NAME (default: the source
snapshot's name). Size: the source PVC's size when the backup was taken
(backup-ns.sh/pvc-size), else its request, else the restoreSize; StorageClass
and access mode those of the source PVC. The source snapshot and its content are
only read, never changed.

The clone is labelled backup-ns.sh/clone-of=NAMESPACE and carries no
backup-ns.sh/type: it is no backup of NS, retention never counts or deletes it.
Deleting it (backup-ns.sh delete NAME in NS) never deletes the data the source
still uses: its content is Retain, and delete gives the data to the driver only
when no other content holds it.

Refused, with nothing changed: NS is NAMESPACE, NS is not configured in
backupns.yaml or does not exist, the PVC or snapshot NAME exists in NS, the
source is no backup (no backup-ns.sh/type), is not ready or is being deleted.

Options:
  --to-namespace NS  where the clone goes (a namespace of backupns.yaml)
  --pvc NAME         the new PVC's and snapshot's name
  --wait             wait until the PVC is Bound
  --timeout T        how long to wait for the snapshot (and --wait) (default 2m)
  -h, --help         show this help

Needs a platform-team context (controller.adminGroups): it creates a
VolumeSnapshotContent and backup-ns.sh/ labels, which the admission policies
allow only to the platform team.""",
        runbook="clone",
    ),
    Command(
        "status",
        "per PVC: newest ready snapshot, counts; exit 1 when stale",
        "Inspect",
        ("[-o json]",),
        """\
Per namespace and PVC: the newest ready snapshot and its age, label counts, failed
snapshots, contents with deletionPolicy Delete (each snapshot's bound content, and
orphaned ones; warned with the kubectl patch that keeps them: a namespace deletion
destroys them), the last restore drill of its snapshots (DRILL: ok or FAILED and
how long ago, from the newest backup-ns.sh/verified-at). A configured PVC without
any snapshot is "not deployed (no snapshot yet)", not a failure (a rollout in
progress). Exit 1 when a configured PVC that has
snapshots has no ready one younger than its limit (2 x its schedule's period by
default), so a CronJob running status fails visibly.

-o json: one JSON document for scripts instead of the table (same exit status):
  {"stale": N, "pvcs": [{"namespace", "pvc", "newestReady", "newestReadyAgeSeconds",
   "daily", "weekly", "monthly", "failed", "deletePolicyContents", "configured",
   "stale", "state", "lastDrill": {"snapshot", "at", "ok", "result"}}]}
  (newestReady and its age are null when there is none, lastDrill when none was drilled)""",
        runbook="failed",
    ),
    Command(
        "drill",
        "restore drills of the namespaces whose last drill is oldest",
        "Inspect",
        ("[--dry-run] [--namespace NAMESPACE]",),
        """\
Scheduled restore drills: read every managed snapshot (one list), pick the
configured namespaces whose last drill (backup-ns.sh/verified-at) is older than
CTL_DRILL_INTERVAL_SEC, never-drilled and oldest first, at most
CTL_DRILL_MAX_PER_RUN, and drill the newest ready snapshot of each (one holding
a database dump first): a Job created from the namespace's suspended CronJob
CTL_DRILL_CRONJOB runs "backup-ns.sh verify SNAPSHOT" there, as the namespace's
own ServiceAccount. At most CTL_DRILL_CONCURRENCY Jobs run at once; each is
waited for up to CTL_DRILL_TIMEOUT_SEC. One line per drill; exit 1 when any
failed (one line each: namespace, snapshot, why, the Job to read).
  --dry-run               print the namespaces and snapshots it would drill
  --namespace NAMESPACE   drill only this namespace (due or not)""",
        runbook="verify",
    ),
    Command(
        "list",
        "managed snapshots, newest first",
        "Inspect",
        ("(-A | -n NAMESPACE) [--pvc PVC] [-l KEY[=VALUE]]",),
        """\
All managed snapshots, newest first: namespace, name, PVC, ready, age, size, labels
(backup-ns.sh/ left out). -l filters on a backup-ns.sh/ label, e.g. -l daily or
-l delete-after=2026-12-01.""",
        runbook="retention",
    ),
    Command(
        "list-contents",
        "contents with backup-ns labels; whether their snapshot exists",
        "Inspect",
        ("[--orphaned] [-o json]",),
        """\
VolumeSnapshotContents with backup-ns labels (copied by sync): which namespace,
snapshot, PVC and day each came from, ready, deletionPolicy, and whether its
snapshot (or its namespace) still exists. --orphaned: only those whose snapshot
is gone; turn one back into a VolumeSnapshot with rebind.

-o json: one JSON document for scripts instead of the table:
  {"contents": [{"name", "namespace", "snapshot", "pvc", "day", "ready",
   "deletionPolicy", "created", "snapshotExists", "namespaceExists"}]}
  (a missing value is null)""",
        runbook="deleted",
    ),
    Command(
        "plan",
        "print what run would change and why; change nothing",
        "Inspect",
        help="Print every change `run` would make and why (rule and numbers); "
        "no write request at all.",
        runbook="retention",
    ),
    Command(
        "run",
        "retain -> mark -> sweep -> sync -> orphans, in one pass",
        "Maintain",
        ("[--dry-run]",),
        """\
retain -> mark -> sweep -> sync -> orphans, as one pass over one read of the cluster.
Holds the Lease; a failed read changes nothing. --dry-run: print the plan, change nothing.""",
        runbook="retention",
    ),
    Command(
        "retain",
        "remove period labels beyond the keep counts",
        "Maintain",
        ("[--dry-run]",),
        """\
Per namespace and PVC keep the newest N ready snapshots labelled backup-ns.sh/daily,
weekly and monthly (N per namespace, default CTL_KEEP_*); remove the label from older ones.""",
        runbook="retention",
    ),
    Command(
        "mark",
        "label delete-after=<today> on expired and failed snapshots",
        "Maintain",
        ("[--dry-run]",),
        """\
Label backup-ns.sh/delete-after=<today> on daily_weekly_monthly snapshots without a period
label and on failed ones (status.error, labelled failed=true, or not ready after
CTL_FAILED_AFTER_SEC); backup-ns.sh/delete-reason says which. A failed mark on a
snapshot that is ready (and not failed) since is withdrawn: it keeps its period labels.""",
        runbook="retention",
    ),
    Command(
        "sweep",
        "delete snapshots whose delete-after is before today",
        "Maintain",
        ("[--dry-run]",),
        """\
Delete managed snapshots whose backup-ns.sh/delete-after is before today (content's
deletionPolicy set to Delete first). Never the newest ready one of a PVC, never below
CTL_MIN_READY ready ones, never keep=true, never a snapshot a PVC is being restored from;
at most CTL_MAX_DELETIONS_PER_RUN deletions (then exit 1).""",
        runbook="retention",
    ),
    Command(
        "sync",
        "copy snapshot labels and annotations to their contents",
        "Maintain",
        ("[--dry-run]",),
        """\
Copy each snapshot's backup-ns.sh/* labels and annotations to its bound
VolumeSnapshotContent and remove stale ones; touches only contents that differ.""",
        runbook="deleted",
    ),
    Command(
        "orphans",
        "expire contents whose snapshot or namespace is gone",
        "Maintain",
        ("[--dry-run]",),
        """\
Contents with backup-ns.sh labels whose snapshot or namespace is gone: label
backup-ns.sh/orphaned-since=<today> when first seen, delete them CTL_ORPHAN_RETENTION_DAYS
later. Never keep=true ones, never the newest content of a namespace and PVC.""",
        runbook="deleted",
    ),
)


def script_program(caps: frozenset[str], job: bool = False, drill: bool = False) -> Program:
    """The namespace script's commands: those its capabilities allow; with ``job``, only
    those the CronJob runs (the job script: the ConfigMap's copy, without the fragments
    that only the other commands use), and with ``drill`` also those the drill CronJob
    runs."""
    return Program(
        name="backup-ns.sh",
        about=(
            "Application-aware VolumeSnapshots of one namespace: dump the database inside\n"
            "its own container (if configured), then snapshot each PVC, label the snapshots\n"
            "for retention and wait until they are ready. The restore commands get data back."
        ),
        commands=tuple(
            c
            for c in SCRIPT
            if (not c.cap or c.cap in caps) and (c.job or not job or (drill and c.drill))
        ),
        debug_hint="BAK_DEBUG=true",
        platform_verbs=tuple(c.verb for c in SCRIPT if c.platform),
        log_prefix="[backup-ns] ${BAK_NAMESPACE:-}: ",
        log_shown="[backup-ns] <namespace>: ",
        die_where=" in namespace ${BAK_NAMESPACE:-}",
        die_shown=" in namespace <ns>",
        kube_namespace="BAK_NAMESPACE",
        version="'backup-ns.sh %s (generated by backupns-gen; namespace %s; %s)\\n' "
        '"$BAK_GENERATOR_VERSION" "$BAK_SCRIPT_NAMESPACE" "${BAK_CAPS[*]:-no extras}"',
    )


def controller_program() -> Program:
    """The cluster-wide retention controller's commands."""
    return Program(
        name="backup-ns-controller.sh",
        about=(
            "Retention of backup-ns VolumeSnapshots across the whole cluster, and the\n"
            "cluster-wide toolbox (contents whose snapshot or namespace is gone)."
        ),
        commands=CONTROLLER,
        debug_hint="CTL_DEBUG=true",
        log_prefix="[backup-ns-controller] ",
        log_shown="[backup-ns-controller] ",
        kubectl_var="CTL_KUBECTL",
        debug_var="CTL_DEBUG",
        version="'backup-ns-controller.sh %s (generated by backupns-gen)\\n' "
        '"$CTL_GENERATOR_VERSION"',
    )
