"""Our assembler against NASM 2.16 on recorded verdicts: the generated forms
and the whole programs in programs/. The references were made by
regenerate.py with Debian's nasm; these tests need no nasm."""

import pytest

from .compare import (DELIBERATE, load_forms, load_programs, program_verdict, verdict)
from .forms import SEED, forms

FORMS = load_forms()
PROGRAMS = load_programs()


def test_the_recorded_forms_are_the_generators():
    """The references are not stale: regenerate.py was run on these forms."""
    assert [record["form"] for record in FORMS] == forms(SEED)


def test_every_form_assembles_to_nasms_bytes_or_is_refused_as_nasm_refuses():
    failures = []
    for record in FORMS:
        result = verdict(record)
        if not result.passed:
            failures.append(f"{record['form']!r}: {result.kind}: {result.detail}")
    assert not failures, f"{len(failures)} forms differ from NASM:\n" + "\n".join(failures[:20])


def test_forms_refused_on_purpose_are_refused_and_nothing_else_is():
    recorded = {record["form"]: record for record in FORMS}
    for form, reason in DELIBERATE.items():
        assert "bytes" in recorded[form], f"NASM refuses {form!r}: not a deliberate refusal"
        assert verdict(recorded[form]).kind == "deliberate", (form, reason)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_whole_programs_are_nasms_byte_for_byte_with_the_same_labels(name):
    result = program_verdict(name, PROGRAMS[name])
    assert result.kind == "identical", result.detail
