"""record / record stop: gdb's process record, so reverse execution reaches back
across `continue` too.

Stepping commands are always recorded; with `record` on, continue is
recorded as well (at ~4 us an instruction instead of full speed), within the
history limit (--history, the newest instructions kept)."""

from .base import Command, CommandError


def _record(repl, args: str):
    target = repl.dbg.target
    word = args.strip()
    if word in ("", "full"):
        if target.recording:
            raise CommandError("The process is already being recorded.  Use \"record stop\" "
                               "to stop recording first.")
        target.recording = True
        return []
    if word == "stop":
        if not target.recording:
            raise CommandError("No recording is currently active.")
        target.recording = False
        target.history.clear()
        return ["Process record is stopped and all execution logs are deleted."]
    if word in ("status", "info"):
        state = "on" if target.recording else "off"
        return [f"Recording of continue is {state}; {len(target.history)} instructions "
                f"recorded (at most {target.history.limit})."]
    raise CommandError(f"record: unknown subcommand '{word}' (full, stop, status)")


RECORD = Command("record", _record, "record continue too, so reverse execution reaches back "
                 "across it", "record [full | stop | status]\nExamples:\n  record\n"
                 "  record stop", aliases=("rec",))
